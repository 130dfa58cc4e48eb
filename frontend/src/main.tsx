/**
 * The demo app's entry point: build the store, follow the URL, render.
 *
 * The store and the realtime client are also exposed as
 * `window.__realtimeDemo` (read-only use: the browser tests read the debug
 * counters and wait for `caughtUp()` there).
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";

import { App } from "./App";
import { protocol } from "./realtime";
import { makeStore, type AppStore } from "./store";
import { fooIdOf, fooSelected } from "./store/session";
import "./styles.css";

declare global {
  interface Window {
    __realtimeDemo?: { store: AppStore; caughtUp: () => boolean };
  }
}

const store = makeStore();
window.__realtimeDemo = {
  store,
  /** Live, with the inbox and the whole "Your Foos" list subscribed and caught up. */
  caughtUp: () => {
    const keys = store.client.subscribed();
    return store.client.status === "live" && keys.includes(protocol.INBOX) && keys.includes("foo?");
  },
};

// `/foo/<id>` selects a Foo (links from notifications, reloads, the back button).
function selectFromLocation(): void {
  store.dispatch(fooSelected(fooIdOf(window.location.pathname)));
}
selectFromLocation();
window.addEventListener("popstate", selectFromLocation);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider store={store}>
      <App />
    </Provider>
  </StrictMode>,
);
