import { AppError, UnavailableError } from '../../platform/errors.js';

export const notServable = (format: string, version: number) =>
  new AppError(
    422,
    'model_not_servable',
    `Version ${version} has format '${format}', which no local runtime serves`,
  );
export const modelNotLoaded = (name: string) =>
  new AppError(409, 'model_not_loaded', `Model '${name}' is not loaded and automatic loading is off`);
export const runtimeCapacity = (why: string) =>
  new UnavailableError(`No room to load the model: ${why}`, 5, 'runtime_capacity');
export const memoryBudgetExceeded = (needMb: number, budgetMb: number) =>
  new AppError(
    409,
    'memory_budget_exceeded',
    `The model needs about ${needMb} MB, more than the whole memory budget of ${budgetMb} MB`,
  );
export const modelUnloading = () =>
  new UnavailableError('The model is being unloaded; try again shortly', 2, 'model_unloading');
export const modelInError = (reason: string) =>
  new UnavailableError(`The model failed: ${reason}`, 5, 'model_error');
