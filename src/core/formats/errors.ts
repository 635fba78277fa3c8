import { AppError } from '../../platform/errors.js';

export type ModelFormat = 'gguf' | 'safetensors' | 'onnx' | 'pickle';

/** A model file whose content does not hold together; always a client error, never a 500. */
export class InvalidModelFileError extends AppError {
  constructor(
    readonly format: ModelFormat | 'unknown',
    readonly detail: string,
  ) {
    super(422, 'invalid_model_file', `Invalid ${format} file: ${detail}`);
  }
}

export const invalidModelFile = (format: ModelFormat | 'unknown', detail: string) =>
  new InvalidModelFileError(format, detail);
