/**
 * The demo app's entry point: build the store, render, find out who is logged in.
 *
 * The store is also exposed as `window.__realtimeDemo` (read-only use: the
 * browser tests read its debug counters from there).
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";

import { App } from "./App";
import { makeStore, type AppStore } from "./store";
import { bootstrap } from "./store/authSlice";
import { fooSelected } from "./store/foosSlice";
import "./styles.css";

declare global {
  interface Window {
    __realtimeDemo?: { store: AppStore };
  }
}

const store = makeStore();
window.__realtimeDemo = { store };

// `/foo/<id>` selects a Foo (links from notifications, reloads, the back button).
function selectFromLocation(): void {
  const match = window.location.pathname.match(/^\/foo\/([^/]+)/);
  store.dispatch(fooSelected(match ? decodeURIComponent(match[1]) : null));
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

store.dispatch(bootstrap());
