import { faceEngineContract } from '../contracts/face-engine.contract.ts';
import { FakeFaceEngine, fakePhoto } from '../fakes/fake-face-engine.ts';

// The fake engine passes the same contract as the real ones, on synthetic photos: that is what
// lets the library's rule tests trust it.
faceEngineContract('FakeFaceEngine (synthetic photos)', () => Promise.resolve(new FakeFaceEngine()), {
  threshold: 0.93,
  sixPeople: () => fakePhoto({ width: 960, height: 280, faces: [0, 1, 2, 3, 4, 5].map((i) => ({ identity: 10 + i, x: 20 + 155 * i, y: 60, size: 120 })) }),
  twoPeople: () =>
    fakePhoto({
      width: 400,
      height: 240,
      faces: [
        { identity: 20, x: 40, y: 40, size: 100 },
        { identity: 21, x: 240, y: 50, size: 100 },
      ],
    }),
  onePersonTwice: async () => [
    await fakePhoto({ faces: [{ identity: 30, x: 40, y: 30, size: 110 }] }),
    await fakePhoto({ background: 90, faces: [{ identity: 30, x: 150, y: 60, size: 90 }] }),
  ],
  anotherPerson: () => fakePhoto({ faces: [{ identity: 31, x: 40, y: 30, size: 110 }] }),
  tightCrop: () => fakePhoto({ width: 150, height: 150, faces: [{ identity: 40, x: 0, y: 0, size: 150 }] }),
});
