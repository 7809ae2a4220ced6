export { SharpImageDecoder, DEFAULT_DECODER_LIMITS, MAX_JPEG_SCANS, type DecoderLimits } from './sharp-decoder.ts';
export { ProcessImageDecoder, type ProcessDecoderOptions } from './process-decoder.ts';
export { POSTED_FORMATS, sniffFormat, jpegScanCount, type PhotoFormat } from './sniff.ts';
export { SharpRenderer } from './sharp-renderer.ts';
