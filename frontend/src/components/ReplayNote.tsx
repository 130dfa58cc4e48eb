/** After a reconnect: what was replayed (and reloaded) to catch up, and how long it took. */
import { useState } from "react";

import { useAppSelector } from "../store/hooks";

export function ReplayNote() {
  const catchUp = useAppSelector((state) => state.realtime.lastCatchUp);
  const [dismissedAt, setDismissedAt] = useState<number | null>(null);
  if (!catchUp || !catchUp.reconnect || catchUp.at === dismissedAt) return null;
  const events = catchUp.replayed === 1 ? "1 missed event" : `${catchUp.replayed} missed events`;
  const streams = catchUp.streams === 1 ? "1 stream" : `${catchUp.streams} streams`;
  return (
    <div className="replay-note" role="status" data-testid="replay-note">
      Reconnected: replayed {events} on {streams} in {Math.round(catchUp.ms)} ms
      {catchUp.reloaded > 0 && `, reloaded ${catchUp.reloaded} over REST`}.
      <button type="button" className="link" onClick={() => setDismissedAt(catchUp.at)}>
        Dismiss
      </button>
    </div>
  );
}
