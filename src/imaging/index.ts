export { SharpImageDecoder, DEFAULT_DECODER_LIMITS, type DecoderLimits } from './sharp-decoder.ts';
export { SharpRenderer } from './sharp-renderer.ts';
