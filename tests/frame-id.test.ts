/** shared/frame-id.ts: the id of a frame too large to parse, read cheaply from its first bytes. */
import { describe, expect, it } from 'vitest';
import { ID_SCAN_BYTES, leadingId } from '../shared/frame-id.js';
import { MAX_FRAME_BYTES, parseSidecarMessage } from '../shared/protocol.js';
import { SwitchyardError } from '../shared/errors.js';

describe('leadingId', () => {
  it('reads a top-level id however the keys before it look', () => {
    expect(leadingId('{"type":"task.complete","id":"c-1","result":')).toBe('c-1');
    expect(leadingId(' {\n "type" : "task.fail" , "generation": 3, "ok": true, "x": null, "nested": {"a": [1, {"b": "}"}]}, "id": "f-\\u0041"')).toBe('f-A');
    expect(leadingId(Buffer.from('{"id":"first","type":"x"}'))).toBe('first');
  });

  it('never takes an id nested in another value, nor one that is not a short string', () => {
    expect(leadingId('{"type":"task.complete","result":{"id":"not-mine"},"id":"mine"')).toBe('mine');
    expect(leadingId('{"type":"task.complete","result":{"id":"not-mine"')).toBeUndefined();
    expect(leadingId('{"type":"x","id":7}')).toBeUndefined();
    expect(leadingId(`{"type":"x","id":"${'a'.repeat(65)}"}`)).toBeUndefined();
    expect(leadingId('{"type":"x","id":"\\ud800"}')).toBeUndefined();
    expect(leadingId('["id","x"]')).toBeUndefined();
  });

  it('looks only at the first bytes', () => {
    expect(leadingId(`{"type":"goodbye","reason":"${'x'.repeat(ID_SCAN_BYTES)}","id":"late"}`)).toBeUndefined();
  });

  it('makes PAYLOAD_TOO_LARGE name the id of the frame it refuses', () => {
    const frame = `{"type":"task.complete","id":"c-9","task_id":"T","generation":1,"result":"${'x'.repeat(MAX_FRAME_BYTES)}"}`;
    let err: unknown;
    try {
      parseSidecarMessage(frame);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { id: 'c-9' } });
  });
});
