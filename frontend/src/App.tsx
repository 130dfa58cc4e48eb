/** The demo's layout: log in, or your Foos, the selected one, your inbox and the connection state. */
import { ConnectionIndicator } from "./components/ConnectionIndicator";
import { FooDetail } from "./components/FooDetail";
import { FooList } from "./components/FooList";
import { Inbox } from "./components/Inbox";
import { LoginForm } from "./components/LoginForm";
import { ReplayNote } from "./components/ReplayNote";
import { logout } from "./store/authSlice";
import { useAppDispatch, useAppSelector } from "./store/hooks";

export function App() {
  const dispatch = useAppDispatch();
  const { status, user } = useAppSelector((state) => state.auth);

  if (status === "unknown") return <p className="loading">Loading…</p>;
  if (!user) return <LoginForm />;

  return (
    <div className="app">
      <header className="app-header">
        <h1>Realtime Foos</h1>
        <ConnectionIndicator />
        <Inbox />
        <span className="user" data-testid="username">
          {user.username}
        </span>
        <button type="button" className="link" onClick={() => dispatch(logout())}>
          Log out
        </button>
      </header>
      <ReplayNote />
      <main className="app-main">
        <FooList />
        <FooDetail />
      </main>
    </div>
  );
}
