import type { RequestContext } from '../../hub/auth/principal.js';
import { AppError, ConflictError, ValidationError } from '../../platform/errors.js';
import { versionNotFound } from '../registry/errors.js';
import type { ModelRow, RegistryRepository, VersionRow } from '../registry/repository.js';
import type { ModelAccess } from '../registry/service.js';

/** What a caller asks for: a model, and at most one of a version number or an alias. */
export interface TargetRef {
  model: string;
  version?: number | undefined;
  alias?: string | undefined;
}

export interface Target {
  model: ModelRow;
  version: VersionRow;
  /** How the caller addressed it, for `model` in answers. */
  label: string;
}

/**
 * `name`, `name@alias` or `name:version` (model names never contain '@' or ':'), or a model id.
 */
export function parseModelRef(ref: string): TargetRef {
  const at = ref.lastIndexOf('@');
  if (at > 0) return { model: ref.slice(0, at), alias: ref.slice(at + 1) };
  const colon = /^(.+):(\d{1,9})$/.exec(ref);
  if (colon?.[1] && colon[2] && !colon[1].includes(':'))
    return { model: colon[1], version: Number(colon[2]) };
  if (ref.includes(':') || ref.endsWith('@'))
    throw new ValidationError(`'${ref}' is not a model reference (name, name@alias or name:version)`, [
      { path: 'model', message: 'expected name, name@alias or name:version' },
    ]);
  return { model: ref };
}

export const modelHasNoVersions = (name: string) =>
  new ConflictError(`Model '${name}' has no version to serve yet`, 'model_has_no_versions');
export const retiredVersion = (version: number) =>
  new AppError(
    409,
    'version_retired',
    `Version ${version} is retired; load it explicitly with allow_retired to serve it`,
  );

/**
 * The version a reference means. Without a version or alias: the `production` alias if set, else
 * the newest version that is not retired. A retired version is served only with `allowRetired`.
 */
export async function resolveTarget(
  deps: { repo: RegistryRepository; access: ModelAccess },
  ctx: RequestContext,
  ref: TargetRef,
  opts: { allowRetired?: boolean } = {},
): Promise<Target> {
  const model = await deps.access.readable(ctx, ref.model);
  let version: VersionRow | undefined;
  let label = model.name;
  if (ref.version !== undefined) {
    version = await deps.access.version(model, ref.version);
    label = `${model.name}:${ref.version}`;
  } else {
    const aliases = await deps.repo.aliasesOf([model.id]);
    const alias = ref.alias ?? 'production';
    const pointed = aliases.find((a) => a.alias === alias);
    if (ref.alias !== undefined) {
      if (!pointed)
        throw new AppError(404, 'alias_not_found', `Model '${model.name}' has no alias '${alias}'`);
      label = `${model.name}@${alias}`;
    }
    if (pointed) version = await deps.access.version(model, pointed.version);
    else {
      const all = await deps.repo.versionsOf(model.id);
      version = all.filter((v) => v.status !== 'retired').at(-1);
      if (!version)
        throw all.length ? retiredVersion(all.at(-1)?.version ?? 0) : modelHasNoVersions(model.name);
    }
  }
  if (!version) throw versionNotFound();
  if (version.status === 'retired' && !opts.allowRetired) throw retiredVersion(version.version);
  return { model, version, label };
}
