/**
 * Live lists of Foos: "Your Foos" (everything you can see) and a search (the
 * same list filtered by `?search=`), each one `GET /api/foo?<params>` kept live
 * by a list subscription: Foos enter, change and leave as they do on the server.
 */
import { skipToken } from "@reduxjs/toolkit/query";
import { useEffect, useState, type FormEvent } from "react";

import { useCreateFooMutation, useListFoosQuery, useMeQuery } from "../api/api";
import { describeError } from "../api/http";
import type { FooResource } from "../api/types";
import type { LiveList } from "../realtime/rtkQuery";
import { useAppDispatch, useAppSelector } from "../store/hooks";
import { openFoo } from "../store/session";

function Items({ list, testId }: { list: LiveList<FooResource>; testId: string }) {
  const dispatch = useAppDispatch();
  const selectedId = useAppSelector((state) => state.session.selectedId);
  const me = useMeQuery().data?.username;
  return (
    <ul>
      {list.ids.map((id) => {
        const foo = list.entities[id];
        return (
          <li key={id}>
            <button
              type="button"
              className={id === selectedId ? "foo-item selected" : "foo-item"}
              data-testid={testId}
              data-foo-id={id}
              onClick={() => dispatch(openFoo(id))}
            >
              <span className="foo-name">{foo.name}</span>
              <span className="foo-bar">{foo.bar}</span>
              {foo.owner !== me && <span className="badge">shared by {foo.owner}</span>}
            </button>
          </li>
        );
      })}
    </ul>
  );
}

export function FooList() {
  const dispatch = useAppDispatch();
  const { data, isLoading, error } = useListFoosQuery({});
  const [createFoo, created] = useCreateFooMutation();
  const [name, setName] = useState("");

  async function create(event: FormEvent) {
    event.preventDefault();
    const result = await createFoo({ name });
    if ("data" in result && result.data) {
      setName("");
      dispatch(openFoo(result.data.id));
    }
  }

  return (
    <section className="foo-list" aria-label="Your Foos">
      <h2>Your Foos</h2>
      {isLoading && <p className="muted">Loading…</p>}
      {error && <p className="error">{describeError(error)}</p>}
      {data && <Items list={data} testId="foo-item" />}
      {data && data.ids.length === 0 && <p className="muted">No Foos yet.</p>}
      <form className="new-foo" onSubmit={create}>
        <input placeholder="New Foo" aria-label="New Foo name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={!name.trim() || created.isLoading}>
          Create
        </button>
      </form>
      {created.error && (
        <p className="error" role="alert">
          {describeError(created.error)}
        </p>
      )}
    </section>
  );
}

const ROLES = [
  { value: "", label: "All" },
  { value: "owner", label: "Mine" },
  { value: "member", label: "Shared with me" },
];

/** The list filtered by a search term (name or bar) and a role (`?role=owner|member`), live as well. */
export function FooSearch() {
  const [term, setTerm] = useState("");
  const [search, setSearch] = useState("");
  const [role, setRole] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => setSearch(term.trim()), 250);
    return () => clearTimeout(timer);
  }, [term]);
  const params: Record<string, string> = {};
  if (search) params.search = search;
  if (role) params.role = role;
  const active = Object.keys(params).length > 0;
  // `currentData`: the results of these parameters only (`data` would show the previous ones' while these load).
  const { currentData: data, error, isFetching } = useListFoosQuery(active ? params : skipToken);
  const what = [search && `“${search}”`, role && ROLES.find((r) => r.value === role)?.label.toLowerCase()]
    .filter(Boolean)
    .join(", ");

  return (
    <section className="foo-list foo-search" aria-label="Search">
      <h2>Search</h2>
      <div className="filters">
        <input
          type="search"
          placeholder="Name or bar contains…"
          aria-label="Search Foos"
          value={term}
          onChange={(e) => setTerm(e.target.value)}
        />
        <select aria-label="Whose Foos" value={role} onChange={(e) => setRole(e.target.value)}>
          {ROLES.map(({ value, label }) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {error && <p className="error">{describeError(error)}</p>}
      {active && data && <Items list={data} testId="search-item" />}
      {active && data && data.ids.length === 0 && !isFetching && (
        <p className="muted">No Foo matches {what} yet: it shows up here live when one does.</p>
      )}
    </section>
  );
}
