/** The socket's state: live, replaying (catching up after a (re)connect), reconnecting (and why), offline. */
import type { ConnectionStatus } from "../realtime";
import { useAppSelector } from "../store/hooks";

const LABELS: Record<ConnectionStatus, string> = {
  idle: "offline",
  connecting: "connecting…",
  replaying: "replaying…",
  live: "live",
  reconnecting: "reconnecting…",
  closed: "offline",
};

export function ConnectionIndicator() {
  const { status, lastClose } = useAppSelector((state) => state.realtime);
  const restarting = status === "reconnecting" && lastClose?.restart;
  return (
    <span className={`connection connection-${status}`} data-testid="connection-status" data-status={status}>
      <span className="dot" aria-hidden="true" />
      {restarting ? "server restarting…" : LABELS[status]}
    </span>
  );
}
