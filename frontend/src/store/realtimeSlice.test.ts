/** The realtime slice's reducer: positions and debug counters from event actions, status, reset. */
import { describe, expect, it } from "vitest";

import { fooEvent } from "../test/mockSocket";
import reducer, { DEBUG_APPLIED_LIMIT, duplicateDropped, isEventAction, reset, statusChanged } from "./realtimeSlice";

describe("realtime slice", () => {
  it("recognises event frames by their meta, and nothing else", () => {
    expect(isEventAction(fooEvent("a", 1))).toBe(true);
    expect(isEventAction({ type: "UPDATE_FOO", payload: {} })).toBe(false);
    expect(isEventAction(statusChanged("live"))).toBe(false);
  });

  it("records each applied event's position and seq", () => {
    let state = reducer(undefined, fooEvent("a", 1));
    state = reducer(state, fooEvent("a", 2));
    state = reducer(state, duplicateDropped());
    expect(state.positions["foo.a"]).toEqual({ seq: 2, epoch: "ep1" });
    expect(state.debug).toMatchObject({ events: 2, applied: { "foo.a": [1, 2] }, duplicates: 1 });
  });

  it("keeps only the last DEBUG_APPLIED_LIMIT seqs per stream", () => {
    let state = reducer(undefined, statusChanged("live"));
    for (let seq = 1; seq <= DEBUG_APPLIED_LIMIT + 5; seq++) state = reducer(state, fooEvent("a", seq));
    expect(state.debug.applied["foo.a"]).toHaveLength(DEBUG_APPLIED_LIMIT);
    expect(state.debug.applied["foo.a"][0]).toBe(6);
  });

  it("tracks the status and forgets everything on reset", () => {
    let state = reducer(undefined, statusChanged("reconnecting"));
    state = reducer(state, fooEvent("a", 1));
    expect(state.status).toBe("reconnecting");
    expect(reducer(state, reset())).toEqual(reducer(undefined, { type: "init" }));
  });
});
