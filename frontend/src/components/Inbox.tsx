/**
 * Your inbox: unread count, and the notifications. Clicking one opens its Foo
 * (and puts it in the URL) and marks it read; an entry whose Foo you can no
 * longer see (it is not in your live list) says so.
 */
import { useState } from "react";

import { FOO, isInboxEntry, useInboxQuery, useListFoosQuery, useMarkReadMutation } from "../api/api";
import { useAppDispatch } from "../store/hooks";
import { openFoo } from "../store/session";

export function Inbox() {
  const dispatch = useAppDispatch();
  const { data: page } = useInboxQuery();
  const { data: visible } = useListFoosQuery({});
  const [markRead] = useMarkReadMutation();
  const [open, setOpen] = useState(false);
  const notifications = (page?.results ?? [])
    .filter(isInboxEntry)
    .map((frame) => frame.payload)
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
  const unread = page?.unread ?? 0;

  return (
    <div className="inbox">
      <button type="button" className="inbox-button" onClick={() => setOpen(!open)} aria-expanded={open}>
        Inbox
        <span className={unread ? "count unread" : "count"} data-testid="unread-count">
          {unread}
        </span>
      </button>
      {open && (
        <ul className="inbox-panel" aria-label="Notifications">
          {notifications.length === 0 && <li className="muted">Nothing yet.</li>}
          {notifications.map((notification) => {
            const foo = notification.object_type === FOO ? notification.object_id : null;
            const unavailable = !!foo && !!visible && !(foo in visible.entities);
            const classes = [notification.read ? "read" : "unread", unavailable ? "unavailable" : ""];
            return (
              <li key={notification.id} className={classes.join(" ").trim()} data-testid="notification">
                <button
                  type="button"
                  onClick={() => {
                    if (!notification.read) markRead({ id: notification.id, read: true });
                    if (foo) dispatch(openFoo(foo));
                    setOpen(false);
                  }}
                >
                  <strong>{notification.title}</strong>
                  {notification.body && <span className="body">{notification.body}</span>}
                  {unavailable && (
                    <span className="unavailable-note" data-testid="notification-unavailable">
                      You can no longer see this Foo.
                    </span>
                  )}
                  <time dateTime={notification.created_at}>{new Date(notification.created_at).toLocaleString()}</time>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
