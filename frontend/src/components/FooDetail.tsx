/**
 * The selected Foo. Its owner (or staff) edits name, bar and members; others
 * watch it change live. Fields follow live changes until you start typing.
 */
import { useEffect, useState, type FormEvent } from "react";

import type { Foo } from "../api/types";
import { deleteFoo, fooSelectors, saveFoo } from "../store/foosSlice";
import { useAppDispatch, useAppSelector } from "../store/hooks";

interface Draft {
  name: string;
  bar: string;
  members: string;
}

function draftOf(foo: Foo): Draft {
  return { name: foo.name, bar: foo.bar, members: foo.members.join(", ") };
}

export function FooDetail() {
  const dispatch = useAppDispatch();
  const selectedId = useAppSelector((state) => state.foos.selectedId);
  const foo = useAppSelector((state) => (selectedId ? fooSelectors.selectById(state, selectedId) : undefined));
  const user = useAppSelector((state) => state.auth.user);
  const position = useAppSelector((state) => (foo ? state.realtime.positions[`foo.${foo.id}`] : undefined));
  const [draft, setDraft] = useState<Draft | null>(null);
  const [dirty, setDirty] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (foo && !dirty) setDraft(draftOf(foo));
  }, [foo, dirty]);
  useEffect(() => {
    setDirty(false);
    setError(null);
  }, [selectedId]);

  if (!foo || !draft) {
    return (
      <section className="foo-detail empty">
        <p className="muted">Select a Foo to see it live.</p>
      </section>
    );
  }
  const canEdit = !!user && (user.username === foo.owner || user.is_staff);

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
    const result = await dispatch(saveFoo({ id: foo.id, changes: { name: draft.name, bar: draft.bar, members } }));
    if (saveFoo.rejected.match(result)) setError(result.error.message ?? "Could not save.");
    else {
      setError(null);
      setDirty(false);
    }
  }

  return (
    <section className="foo-detail" aria-label="Selected Foo" data-testid="foo-detail">
      <h2 data-testid="foo-detail-name">{foo.name}</h2>
      <p className="foo-bar">{foo.bar || <span className="muted">(no bar)</span>}</p>
      <dl className="facts">
        <dt>Owner</dt>
        <dd>{foo.owner}</dd>
        <dt>Shared with</dt>
        <dd>{foo.members.length ? foo.members.join(", ") : "nobody"}</dd>
        <dt>Updated</dt>
        <dd>{new Date(foo.updated_at).toLocaleString()}</dd>
        <dt>Stream</dt>
        <dd className="mono">
          foo.{foo.id} · seq {position?.seq ?? "–"}
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
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <div className="buttons">
            <button type="submit" disabled={!dirty || !draft.name.trim()}>
              Save
            </button>
            <button type="button" className="danger" onClick={() => dispatch(deleteFoo(foo.id))}>
              Delete
            </button>
          </div>
        </form>
      ) : (
        <p className="muted">Shared with you by {foo.owner}: it updates here as they edit it.</p>
      )}
    </section>
  );
}
