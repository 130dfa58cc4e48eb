/** Your inbox: unread count, and the notifications (click one to open its Foo and mark it read). */
import { useState } from "react";

import { fooSelected } from "../store/foosSlice";
import { useAppDispatch, useAppSelector } from "../store/hooks";
import { inboxSelectors, markRead } from "../store/inboxSlice";

export function Inbox() {
  const dispatch = useAppDispatch();
  const notifications = useAppSelector(inboxSelectors.selectAll);
  const unread = useAppSelector((state) => state.inbox.unread);
  const [open, setOpen] = useState(false);

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
          {notifications.map((notification) => (
            <li key={notification.id} className={notification.read ? "read" : "unread"} data-testid="notification">
              <button
                type="button"
                onClick={() => {
                  if (!notification.read) dispatch(markRead({ id: notification.id, read: true }));
                  if (notification.object_type === "foo" && notification.object_id) {
                    dispatch(fooSelected(notification.object_id));
                  }
                  setOpen(false);
                }}
              >
                <strong>{notification.title}</strong>
                {notification.body && <span className="body">{notification.body}</span>}
                <time dateTime={notification.created_at}>{new Date(notification.created_at).toLocaleString()}</time>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
