/**
 * Checks an OCSF event against the vendored definitions (cim/ocsf-schema.ts): the class
 * exists, every required attribute is present, no attribute is unknown to its class or
 * object, each value has its data type (with the type's pattern and range), enum values
 * are defined and their captions match, object constraints hold, the classification ids
 * agree with each other, and an attribute a profile adds appears only when
 * `metadata.profiles` declares that profile (which the class must support).
 *
 * Recommended attributes that are missing are reported apart, as warnings: OCSF allows
 * leaving them out.
 */
import { OCSF_VERSION, ocsfClass, ocsfDataType, ocsfObject, type OcsfAttribute, type OcsfObject } from './ocsf-schema';

export interface OcsfValidation {
  valid: boolean;
  /** One sentence each, naming the attribute path. */
  errors: string[];
  warnings: string[];
}

const OTHER = '99';

export function validateOcsfEvent(event: unknown): OcsfValidation {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (!isPlainObject(event)) return { valid: false, errors: ['the event must be a JSON object'], warnings };
  const classUid = event.class_uid;
  const cls = typeof classUid === 'number' ? ocsfClass(classUid) : undefined;
  if (!cls) {
    errors.push(`class_uid ${JSON.stringify(classUid)} is not a vendored OCSF class`);
    return { valid: false, errors, warnings };
  }
  const meta = isPlainObject(event.metadata) ? event.metadata : {};
  const declared = Array.isArray(meta.profiles) ? meta.profiles.filter((p): p is string => typeof p === 'string') : [];
  for (const p of declared) {
    if (!cls.profiles.includes(p)) errors.push(`metadata.profiles lists "${p}", a profile class ${cls.name} does not support`);
  }
  const ctx: Context = { errors, warnings, profiles: new Set(declared) };
  checkObject(event, cls, '', ctx);

  const activity = event.activity_id;
  if (typeof activity === 'number' && event.type_uid !== cls.uid * 100 + activity) {
    errors.push(`type_uid must be class_uid * 100 + activity_id = ${cls.uid * 100 + activity}, got ${JSON.stringify(event.type_uid)}`);
  }
  if (meta.version !== undefined && meta.version !== OCSF_VERSION) {
    errors.push(`metadata.version must be the schema version the event was checked against, ${OCSF_VERSION}, got ${JSON.stringify(meta.version)}`);
  }
  return { valid: errors.length === 0, errors, warnings };
}

interface Context {
  errors: string[];
  warnings: string[];
  profiles: ReadonlySet<string>;
}

function checkObject(value: Record<string, unknown>, def: OcsfObject, path: string, ctx: Context): void {
  const at = (name: string) => (path ? `${path}.${name}` : name);
  for (const [name, attr] of def.attributes) {
    const present = value[name] !== undefined && value[name] !== null;
    const applies = attr.profile === null || ctx.profiles.has(attr.profile);
    if (!present) {
      if (!applies) continue;
      if (attr.requirement === 'required') ctx.errors.push(`missing required attribute "${at(name)}"`);
      else if (attr.requirement === 'recommended') ctx.warnings.push(`missing recommended attribute "${at(name)}"`);
      continue;
    }
    if (!applies) {
      ctx.errors.push(`"${at(name)}" belongs to the ${attr.profile} profile, which metadata.profiles does not declare`);
    }
    checkAttribute(value[name], attr, at(name), value, ctx);
  }
  for (const name of Object.keys(value)) {
    if (!def.attributes.has(name)) ctx.errors.push(`"${at(name)}" is not an attribute of ${def.name}`);
  }
  const has = (n: string) => value[n] !== undefined && value[n] !== null;
  const { at_least_one: atLeastOne, just_one: justOne } = def.constraints;
  if (atLeastOne && !atLeastOne.some(has)) {
    ctx.errors.push(`${path || def.name} (${def.name}) needs at least one of ${atLeastOne.join(', ')}`);
  }
  if (justOne && justOne.filter(has).length !== 1) {
    ctx.errors.push(`${path || def.name} (${def.name}) needs exactly one of ${justOne.join(', ')}`);
  }
}

function checkAttribute(value: unknown, attr: OcsfAttribute, path: string, parent: Record<string, unknown>, ctx: Context): void {
  if (attr.isArray) {
    if (!Array.isArray(value)) {
      ctx.errors.push(`"${path}" must be an array of ${attr.type}`);
      return;
    }
    value.forEach((item, i) => checkValue(item, attr, `${path}[${i}]`, ctx));
  } else {
    checkValue(value, attr, path, ctx);
  }
  if (attr.enum && !attr.isArray && typeof value === 'number') {
    const entry = attr.enum[String(value)];
    if (!entry) {
      ctx.errors.push(`"${path}" is ${value}, not one of its defined values ${Object.keys(attr.enum).join(', ')}`);
    } else if (attr.sibling) {
      const label = parent[attr.sibling];
      const siblingPath = path.replace(/[^.]+$/, attr.sibling);
      if (String(value) === OTHER && (typeof label !== 'string' || label === '')) {
        ctx.errors.push(`"${path}" is 99 (Other), so "${siblingPath}" must say what it is`);
      } else if (String(value) !== OTHER && label !== undefined && label !== entry.caption) {
        ctx.errors.push(`"${siblingPath}" must be the caption of ${path} ${value}, "${entry.caption}", got ${JSON.stringify(label)}`);
      }
    }
  }
}

function checkValue(value: unknown, attr: OcsfAttribute, path: string, ctx: Context): void {
  const type = ocsfDataType(attr.type);
  if (!type) {
    if (!isPlainObject(value)) {
      ctx.errors.push(`"${path}" must be a ${attr.type} object`);
      return;
    }
    // `object` is OCSF's untyped object (e.g. `unmapped`): anything goes inside it.
    if (attr.type === 'object') return;
    const def = ocsfObject(attr.type);
    if (!def) {
      ctx.errors.push(`"${path}" is a ${attr.type} object, whose definition is not vendored`);
      return;
    }
    checkObject(value, def, path, ctx);
    return;
  }
  const wrong = (what: string) => ctx.errors.push(`"${path}" must be ${what} (${type.name}), got ${JSON.stringify(value)?.slice(0, 80)}`);
  switch (type.base) {
    case 'json_t':
      return;
    case 'boolean_t':
      if (typeof value !== 'boolean') wrong('a boolean');
      return;
    case 'float_t':
      if (typeof value !== 'number' || !Number.isFinite(value)) wrong('a number');
      return;
    case 'integer_t':
    case 'long_t': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return void wrong('an integer');
      if (type.base === 'integer_t' && (value < -(2 ** 31) || value >= 2 ** 31)) return void wrong('a 32-bit integer');
      if (type.range && (value < type.range[0] || value > type.range[1])) wrong(`between ${type.range[0]} and ${type.range[1]}`);
      return;
    }
    case 'string_t':
      if (typeof value !== 'string') return void wrong('a string');
      if (type.maxLen !== null && value.length > type.maxLen) return void wrong(`at most ${type.maxLen} characters`);
      if (type.regex && !type.regex.test(value)) wrong(`text matching ${type.regex.source.slice(0, 60)}`);
      return;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
