/** Your Foos (owned and shared with you), live; and a form to create one. */
import { useState, type FormEvent } from "react";

import { createFoo, fooSelectors, fooSelected } from "../store/foosSlice";
import { useAppDispatch, useAppSelector } from "../store/hooks";

export function FooList() {
  const dispatch = useAppDispatch();
  const foos = useAppSelector(fooSelectors.selectAll);
  const { loading, error, selectedId } = useAppSelector((state) => state.foos);
  const me = useAppSelector((state) => state.auth.user?.username);
  const [name, setName] = useState("");

  async function create(event: FormEvent) {
    event.preventDefault();
    await dispatch(createFoo({ name }));
    setName("");
  }

  function select(id: string) {
    dispatch(fooSelected(id));
    window.history.pushState(null, "", `/foo/${encodeURIComponent(id)}`);
  }

  return (
    <section className="foo-list" aria-label="Your Foos">
      <h2>Your Foos</h2>
      {loading && <p className="muted">Loading…</p>}
      {error && <p className="error">{error}</p>}
      <ul>
        {foos.map((foo) => (
          <li key={foo.id}>
            <button
              type="button"
              className={foo.id === selectedId ? "foo-item selected" : "foo-item"}
              data-testid="foo-item"
              data-foo-id={foo.id}
              onClick={() => select(foo.id)}
            >
              <span className="foo-name">{foo.name}</span>
              <span className="foo-bar">{foo.bar}</span>
              {foo.owner !== me && <span className="badge">shared by {foo.owner}</span>}
            </button>
          </li>
        ))}
      </ul>
      {!loading && foos.length === 0 && <p className="muted">No Foos yet.</p>}
      <form className="new-foo" onSubmit={create}>
        <input placeholder="New Foo" aria-label="New Foo name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={!name.trim()}>
          Create
        </button>
      </form>
    </section>
  );
}
