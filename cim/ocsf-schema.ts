/**
 * The vendored OCSF definitions (cim/ocsf/schema, copied unchanged from ocsf-schema),
 * resolved the way the OCSF compiler resolves them: a class or object inherits its
 * parent's attributes (`extends`), pulls in the attributes of the profiles it includes
 * (`$include`, each tagged with its profile), overrides what it redefines, and takes
 * each attribute's type, array-ness and base enum from the dictionary.
 *
 * Pure: the JSON is imported, never read from disk, so the same definitions ship with
 * the built package.
 */
import version from './ocsf/schema/version.json';
import dictionary from './ocsf/schema/dictionary.json';
import categories from './ocsf/schema/categories.json';
import baseEvent from './ocsf/schema/events/base_event.json';
import application from './ocsf/schema/events/application/application.json';
import apiActivity from './ocsf/schema/events/application/api_activity.json';
import aiOperation from './ocsf/schema/profiles/ai_operation.json';
import cloud from './ocsf/schema/profiles/cloud.json';
import container from './ocsf/schema/profiles/container.json';
import dataClassification from './ocsf/schema/profiles/data_classification.json';
import datetime from './ocsf/schema/profiles/datetime.json';
import host from './ocsf/schema/profiles/host.json';
import osint from './ocsf/schema/profiles/osint.json';
import recordIntegrity from './ocsf/schema/profiles/record_integrity.json';
import securityControl from './ocsf/schema/profiles/security_control.json';
import traceProfile from './ocsf/schema/profiles/trace.json';
import object from './ocsf/schema/objects/object.json';
import entity from './ocsf/schema/objects/_entity.json';
import resource from './ocsf/schema/objects/_resource.json';
import actor from './ocsf/schema/objects/actor.json';
import aiAgent from './ocsf/schema/objects/ai_agent.json';
import aiModel from './ocsf/schema/objects/ai_model.json';
import api from './ocsf/schema/objects/api.json';
import attestation from './ocsf/schema/objects/attestation.json';
import delegation from './ocsf/schema/objects/delegation.json';
import endpoint from './ocsf/schema/objects/endpoint.json';
import fingerprint from './ocsf/schema/objects/fingerprint.json';
import metadata from './ocsf/schema/objects/metadata.json';
import networkEndpoint from './ocsf/schema/objects/network_endpoint.json';
import prevEvent from './ocsf/schema/objects/prev_event.json';
import product from './ocsf/schema/objects/product.json';
import request from './ocsf/schema/objects/request.json';
import resourceDetails from './ocsf/schema/objects/resource_details.json';
import response from './ocsf/schema/objects/response.json';
import service from './ocsf/schema/objects/service.json';
import session from './ocsf/schema/objects/session.json';
import span from './ocsf/schema/objects/span.json';
import trace from './ocsf/schema/objects/trace.json';

export const OCSF_VERSION: string = version.version;

export type Requirement = 'required' | 'recommended' | 'optional';

export interface OcsfEnumValue {
  caption: string;
}

export interface OcsfAttribute {
  name: string;
  /** A dictionary data type (`string_t`, …), an object name, or `object` (any object). */
  type: string;
  isArray: boolean;
  requirement: Requirement;
  enum: Record<string, OcsfEnumValue> | null;
  /** The string attribute that carries this id's caption (`status` for `status_id`). */
  sibling: string | null;
  /** The profile that adds this attribute; null when the class or object defines it itself. */
  profile: string | null;
}

export interface OcsfConstraints {
  at_least_one?: string[];
  just_one?: string[];
}

export interface OcsfObject {
  name: string;
  caption: string;
  attributes: Map<string, OcsfAttribute>;
  constraints: OcsfConstraints;
}

export interface OcsfClass extends OcsfObject {
  uid: number;
  categoryUid: number;
  categoryName: string;
  /** Every profile the class (with its parents) applies. */
  profiles: string[];
}

export interface OcsfDataType {
  name: string;
  /** The primitive the value is checked as. */
  base: 'string_t' | 'integer_t' | 'long_t' | 'float_t' | 'boolean_t' | 'json_t';
  regex: RegExp | null;
  range: [number, number] | null;
  maxLen: number | null;
}

interface RawAttribute {
  requirement?: string;
  enum?: Record<string, { caption: string }>;
  profile?: string | null;
  type?: string;
  is_array?: boolean;
  sibling?: string;
}
interface RawDefinition {
  name: string;
  caption?: string;
  extends?: string;
  category?: string;
  uid?: number;
  attributes: Record<string, unknown>;
  profiles?: string[];
  constraints?: OcsfConstraints;
}

const PROFILE_FILES: Record<string, { name: string; attributes: Record<string, unknown> }> = {
  'profiles/ai_operation.json': aiOperation,
  'profiles/cloud.json': cloud,
  'profiles/container.json': container,
  'profiles/data_classification.json': dataClassification,
  'profiles/datetime.json': datetime,
  'profiles/host.json': host,
  'profiles/osint.json': osint,
  'profiles/record_integrity.json': recordIntegrity,
  'profiles/security_control.json': securityControl,
  'profiles/trace.json': traceProfile,
};

const OBJECT_FILES: RawDefinition[] = [
  object, entity, resource, actor, aiAgent, aiModel, api, attestation, delegation, endpoint, fingerprint, metadata,
  networkEndpoint, prevEvent, product, request, resourceDetails, response, service, session, span, trace,
] as RawDefinition[];
const EVENT_FILES: RawDefinition[] = [baseEvent, application, apiActivity] as RawDefinition[];

const rawObjects = new Map(OBJECT_FILES.map((o) => [o.name, o]));
const rawEvents = new Map(EVENT_FILES.map((e) => [e.name, e]));
const dictAttributes = dictionary.attributes as unknown as Record<string, RawAttribute>;
const dictTypes = dictionary.types.attributes as unknown as Record<string, { type?: string; regex?: string; range?: [number, number]; max_len?: number }>;
const categoryUids = categories.attributes as Record<string, { uid: number; caption: string }>;

/** Attribute definitions of one file, with its profile includes expanded beneath its own. */
function ownAttributes(def: RawDefinition): Map<string, RawAttribute> {
  const out = new Map<string, RawAttribute>();
  const includes = (def.attributes.$include as string[] | undefined) ?? [];
  for (const path of includes) {
    const profile = PROFILE_FILES[path];
    if (!profile) throw new Error(`OCSF definition ${def.name} includes ${path}, which is not vendored`);
    for (const [name, attr] of Object.entries(profile.attributes)) out.set(name, { ...(attr as RawAttribute), profile: profile.name });
  }
  for (const [name, attr] of Object.entries(def.attributes)) {
    if (name === '$include') continue;
    out.set(name, mergeAttribute(out.get(name), attr as RawAttribute));
  }
  return out;
}

function mergeAttribute(base: RawAttribute | undefined, over: RawAttribute): RawAttribute {
  if (!base) return { ...over };
  return { ...base, ...over, enum: base.enum || over.enum ? { ...base.enum, ...over.enum } : undefined };
}

function inherited(def: RawDefinition, lookup: Map<string, RawDefinition>): { attributes: Map<string, RawAttribute>; chain: RawDefinition[] } {
  const chain: RawDefinition[] = [];
  for (let d: RawDefinition | undefined = def; d; d = d.extends ? lookup.get(d.extends) : undefined) {
    chain.unshift(d);
    if (d.extends && !lookup.has(d.extends)) throw new Error(`OCSF definition ${d.name} extends ${d.extends}, which is not vendored`);
  }
  const attributes = new Map<string, RawAttribute>();
  for (const d of chain) for (const [name, attr] of ownAttributes(d)) attributes.set(name, mergeAttribute(attributes.get(name), attr));
  return { attributes, chain };
}

function resolveAttributes(raw: Map<string, RawAttribute>): Map<string, OcsfAttribute> {
  const out = new Map<string, OcsfAttribute>();
  for (const [name, attr] of raw) {
    const dict = dictAttributes[name];
    if (!dict) throw new Error(`OCSF attribute ${name} is not in the vendored dictionary`);
    const merged = mergeAttribute(dict, attr);
    out.set(name, {
      name,
      type: merged.type ?? 'string_t',
      isArray: merged.is_array === true,
      requirement: (merged.requirement as Requirement | undefined) ?? 'optional',
      enum: merged.enum ? Object.fromEntries(Object.entries(merged.enum).map(([k, v]) => [k, { caption: v.caption }])) : null,
      sibling: merged.sibling ?? null,
      profile: merged.profile ?? null,
    });
  }
  return out;
}

function lastConstraints(chain: RawDefinition[]): OcsfConstraints {
  return [...chain].reverse().find((d) => d.constraints)?.constraints ?? {};
}

const objectCache = new Map<string, OcsfObject>();

/** A vendored object, resolved; undefined when the object is not vendored. */
export function ocsfObject(name: string): OcsfObject | undefined {
  const cached = objectCache.get(name);
  if (cached) return cached;
  const def = rawObjects.get(name);
  if (!def) return undefined;
  const { attributes, chain } = inherited(def, rawObjects);
  const resolved = { name, caption: def.caption ?? name, attributes: resolveAttributes(attributes), constraints: lastConstraints(chain) };
  objectCache.set(name, resolved);
  return resolved;
}

const classCache = new Map<number, OcsfClass>();

/** A vendored event class by class_uid (category uid × 1000 + class uid); undefined when not vendored. */
export function ocsfClass(classUid: number): OcsfClass | undefined {
  if (classCache.size === 0) {
    for (const def of rawEvents.values()) {
      const { attributes, chain } = inherited(def, rawEvents);
      const category = [...chain].reverse().find((d) => d.category)?.category ?? 'other';
      const categoryUid = categoryUids[category]?.uid ?? 0;
      const uid = def.uid === undefined ? 0 : categoryUid * 1000 + def.uid;
      const caption = def.caption ?? def.name;
      const categoryName = categoryUids[category]?.caption ?? 'Uncategorized';
      classCache.set(uid, {
        name: def.name,
        caption,
        uid,
        categoryUid,
        categoryName,
        attributes: classifying(resolveAttributes(attributes), uid, caption, categoryUid, categoryName),
        constraints: lastConstraints(chain),
        profiles: [...new Set(chain.flatMap((d) => d.profiles ?? []))],
      });
    }
  }
  return classCache.get(classUid);
}

/**
 * The compiler gives each class its own classification enums: class_uid and
 * category_uid hold only the class's values, and type_uid one value per activity.
 */
function classifying(attrs: Map<string, OcsfAttribute>, uid: number, caption: string, categoryUid: number, categoryName: string): Map<string, OcsfAttribute> {
  const set = (name: string, values: Record<string, OcsfEnumValue>) => {
    const attr = attrs.get(name);
    if (attr) attrs.set(name, { ...attr, enum: values });
  };
  set('class_uid', { [uid]: { caption } });
  set('category_uid', { [categoryUid]: { caption: categoryName } });
  const activities = attrs.get('activity_id')?.enum ?? {};
  set('type_uid', Object.fromEntries(Object.entries(activities).map(([id, v]) => [uid * 100 + Number(id), { caption: `${caption}: ${v.caption}` }])));
  return attrs;
}

const PRIMITIVES = new Set<OcsfDataType['base']>(['string_t', 'integer_t', 'long_t', 'float_t', 'boolean_t', 'json_t']);

/** A dictionary data type with its constraints; undefined when `name` is an object, not a data type. */
export function ocsfDataType(name: string): OcsfDataType | undefined {
  const def = dictTypes[name];
  if (!def) return undefined;
  let base = name;
  for (let t = def; t?.type; t = dictTypes[t.type]!) base = t.type;
  if (!PRIMITIVES.has(base as OcsfDataType['base'])) throw new Error(`OCSF data type ${name} rests on ${base}, which has no check`);
  return {
    name,
    base: base as OcsfDataType['base'],
    regex: def.regex ? new RegExp(def.regex) : null,
    range: def.range ?? null,
    maxLen: def.max_len ?? null,
  };
}
