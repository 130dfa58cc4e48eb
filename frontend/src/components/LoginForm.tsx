/** Log in with a Django username and password (a session cookie, used by REST and the WebSocket alike). */
import { useState, type FormEvent } from "react";

import { useLoginMutation } from "../api/api";
import { describeError } from "../api/http";
import { useAppSelector } from "../store/hooks";

export function LoginForm() {
  const notice = useAppSelector((state) => state.session.notice);
  const [login, { isLoading, error }] = useLoginMutation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    await login({ username, password });
  }

  const message = error ? describeError(error) : notice;
  return (
    <form className="login" onSubmit={submit} aria-label="Log in">
      <h1>Realtime Foos</h1>
      <label>
        Username
        <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
      <button type="submit" disabled={isLoading || !username || !password}>
        Log in
      </button>
      <p className="hint">Demo users: alice / alice-demo, bob / bob-demo.</p>
    </form>
  );
}
