/** The Keyword search attributes scopetrail publishes each scope under. */
export { SEARCH_ATTRIBUTES } from '../cim/names';
