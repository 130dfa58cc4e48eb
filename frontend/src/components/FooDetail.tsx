/**
 * The selected Foo, live. Its owner (or staff) edits name, bar and members;
 * others watch it change. Fields follow live changes until you start typing.
 * When it is deleted or unshared while open, it says so instead of vanishing.
 */
import { skipToken } from "@reduxjs/toolkit/query";
import { useEffect, useState, type FormEvent } from "react";

import { useDeleteFooMutation, useGetFooQuery, useMeQuery, useUpdateFooMutation } from "../api/api";
import { describeError, type QueryError } from "../api/http";
import type { FooResource } from "../api/types";
import { protocol } from "../realtime";
import type { Gone } from "../realtime/rtkQuery";
import { useAppDispatch, useAppSelector } from "../store/hooks";
import { fooRetried } from "../store/session";

interface Draft {
  name: string;
  bar: string;
  members: string;
}

function draftOf(foo: FooResource): Draft {
  return { name: foo.name, bar: foo.bar ?? "", members: (foo.members ?? []).join(", ") };
}

/** What happened to a Foo that is no longer live here, in a sentence. */
export function goneMessage(gone: Gone, foo: FooResource, me: string | undefined): string {
  if (gone.reason === protocol.REASON_DELETED) {
    return foo.owner === me ? "You deleted this Foo." : `${foo.owner} deleted this Foo.`;
  }
  if (gone.reason === protocol.REASON_REVOKED) return "This Foo is no longer shared with you.";
  return "This Foo was deleted or is no longer shared with you.";
}

export function FooDetail() {
  const dispatch = useAppDispatch();
  const selectedId = useAppSelector((state) => state.session.selectedId);
  const attempt = useAppSelector((state) => state.session.attempt);
  const me = useMeQuery().data;
  // `currentData`, not `data`: while another Foo loads, `data` is still the previous one's (and the form would
  // save onto it).
  const { currentData: data, error, isFetching } = useGetFooQuery(selectedId ? { id: selectedId, attempt } : skipToken);
  const [updateFoo, saving] = useUpdateFooMutation();
  const [deleteFoo, deleting] = useDeleteFooMutation();
  const [draft, setDraft] = useState<Draft | null>(null);
  const [dirty, setDirty] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error_, setError] = useState<string | null>(null);
  const foo = data?.item;

  useEffect(() => {
    if (foo && foo.id === selectedId && !dirty) setDraft(draftOf(foo));
  }, [foo, dirty, selectedId]);
  useEffect(() => {
    setDraft(null);
    setDirty(false);
    setError(null);
    setConfirming(false);
  }, [selectedId]);

  if (!selectedId) {
    return (
      <section className="foo-detail empty">
        <p className="muted">Select a Foo to see it live.</p>
      </section>
    );
  }
  if (!data && isFetching) {
    return (
      <section className="foo-detail empty">
        <p className="muted">Loading…</p>
      </section>
    );
  }
  if (error || !foo || !draft) {
    const missing = (error as QueryError | undefined)?.status === 404;
    return (
      <section className="foo-detail empty" data-testid="foo-detail">
        <p className="notice" role="status" data-testid="foo-gone">
          {missing ? "This Foo does not exist, or it is no longer shared with you." : describeError(error ?? "unknown")}
        </p>
      </section>
    );
  }

  if (data.gone) {
    return (
      <section className="foo-detail gone" aria-label="Selected Foo" data-testid="foo-detail">
        <h2 data-testid="foo-detail-name">{foo.name}</h2>
        <p className="notice" role="status" data-testid="foo-gone">
          {goneMessage(data.gone, foo, me?.username)}
        </p>
        {data.gone.reason !== protocol.REASON_DELETED && (
          <button type="button" className="link" onClick={() => dispatch(fooRetried())}>
            Check again
          </button>
        )}
      </section>
    );
  }

  const canEdit = !!me && (me.username === foo.owner || me.is_staff);

  function change(field: keyof Draft, value: string) {
    setDraft((current) => (current ? { ...current, [field]: value } : current));
    setDirty(true);
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!foo || !draft) return;
    const members = draft.members
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean);
    const result = await updateFoo({ id: foo.id, changes: { name: draft.name, bar: draft.bar, members } });
    if ("error" in result && result.error) setError(describeError(result.error));
    else {
      setError(null);
      setDirty(false);
    }
  }

  async function remove() {
    if (!foo) return;
    const result = await deleteFoo(foo.id);
    if ("error" in result && result.error) setError(describeError(result.error));
    setConfirming(false);
  }

  return (
    <section className="foo-detail" aria-label="Selected Foo" data-testid="foo-detail">
      <h2 data-testid="foo-detail-name">{foo.name}</h2>
      <p className="foo-bar">{foo.bar || <span className="muted">(no bar)</span>}</p>
      <dl className="facts">
        <dt>Owner</dt>
        <dd>{foo.owner}</dd>
        <dt>Shared with</dt>
        <dd>{foo.members?.length ? foo.members.join(", ") : "nobody"}</dd>
        <dt>Updated</dt>
        <dd>{new Date(foo.updated_at).toLocaleString()}</dd>
        <dt>Stream</dt>
        <dd className="mono">
          {foo.stream.name} · seq {foo.stream.seq}
        </dd>
      </dl>
      {canEdit ? (
        <form className="edit" onSubmit={save} aria-label="Edit Foo">
          <label>
            Name
            <input name="name" value={draft.name} onChange={(e) => change("name", e.target.value)} />
          </label>
          <label>
            Bar
            <input name="bar" value={draft.bar} onChange={(e) => change("bar", e.target.value)} />
          </label>
          <label>
            Shared with (usernames, comma-separated)
            <input name="members" value={draft.members} onChange={(e) => change("members", e.target.value)} />
          </label>
          {error_ && (
            <p className="error" role="alert">
              {error_}
            </p>
          )}
          {confirming ? (
            <div className="buttons confirm" role="alertdialog" aria-label="Confirm delete">
              <span>Delete “{foo.name}” for everyone?</span>
              <button type="button" className="danger" onClick={remove} disabled={deleting.isLoading}>
                Yes, delete
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          ) : (
            <div className="buttons">
              <button type="submit" disabled={!dirty || !draft.name.trim() || saving.isLoading}>
                Save
              </button>
              <button type="button" className="danger" onClick={() => setConfirming(true)}>
                Delete
              </button>
            </div>
          )}
        </form>
      ) : (
        <p className="muted">Shared with you by {foo.owner}: it updates here as they edit it.</p>
      )}
    </section>
  );
}
