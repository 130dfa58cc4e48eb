/** Log in with a Django username and password (a session cookie, used by REST and the WebSocket alike). */
import { useState, type FormEvent } from "react";

import { login } from "../store/authSlice";
import { useAppDispatch, useAppSelector } from "../store/hooks";

export function LoginForm() {
  const dispatch = useAppDispatch();
  const error = useAppSelector((state) => state.auth.error);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    await dispatch(login({ username, password }));
    setBusy(false);
  }

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
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy || !username || !password}>
        Log in
      </button>
      <p className="hint">Demo users: alice / alice-demo, bob / bob-demo.</p>
    </form>
  );
}
