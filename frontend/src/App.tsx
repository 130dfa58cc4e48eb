/** The demo's layout: log in, or your Foos (and a search), the selected one, your inbox and the connection state. */
import { useLogoutMutation, useMeQuery } from "./api/api";
import { describeError } from "./api/http";
import { ConnectionIndicator } from "./components/ConnectionIndicator";
import { FooDetail } from "./components/FooDetail";
import { FooList, FooSearch } from "./components/FooList";
import { Inbox } from "./components/Inbox";
import { LoginForm } from "./components/LoginForm";
import { ReplayNote } from "./components/ReplayNote";

export function App() {
  const { data: user, isLoading, error, refetch } = useMeQuery();
  const [logout] = useLogoutMutation();

  if (isLoading) return <p className="loading">Loading…</p>;
  if (error) {
    return (
      <div className="login">
        <p className="error" role="alert">
          {describeError(error)}
        </p>
        <button type="button" onClick={() => refetch()}>
          Try again
        </button>
      </div>
    );
  }
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
        <button type="button" className="link" onClick={() => logout()}>
          Log out
        </button>
      </header>
      <ReplayNote />
      <main className="app-main">
        <div className="lists">
          <FooList />
          <FooSearch />
        </div>
        <FooDetail />
      </main>
    </div>
  );
}
