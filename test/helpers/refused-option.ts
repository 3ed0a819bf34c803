/** The predicate for assert.throws/rejects: a refused option, still the TypeError it was, naming its field. */
import assert from 'node:assert/strict';
import { InvalidOptionError } from '../../cim/invalid-field';

export function refusedFor(field: string, message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof TypeError, String(err));
    assert.ok(err instanceof InvalidOptionError);
    assert.equal(err.name, 'InvalidOptionError');
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  };
}
