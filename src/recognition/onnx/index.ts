export {
  OnnxModels,
  loadOrt,
  ONNX_MODELS,
  CONVERTER_VERSION,
  type OnnxModelName,
  type OnnxModelSpec,
  type OnnxSession,
  type OrtModule,
  type ModelReader,
  type LoadedModel,
  type CacheOutcome,
} from './onnx-models.ts';
export { convertGraphModel, type ConvertOptions, type GraphModelJson } from './tfjs-graph.ts';
export { buildDlibResnet } from './dlib-resnet.ts';
export { decodeWeights, type WeightMap, type WeightGroup } from './weights.ts';
export { encodeModel } from './onnx-proto.ts';
export { OnnxSimilarityKernel } from './similarity-kernel.ts';
