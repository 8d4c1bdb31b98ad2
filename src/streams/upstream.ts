import type { AppError } from '../errors.js';

/** A long-lived engine stream; `close` is safe at any time, also before it has connected. */
export interface Upstream {
  close(): void;
}

export interface UpstreamHandlers<T> {
  /** Called once the engine has answered the request, that is once it follows what happens. */
  open?(): void;
  data(item: T): void;
  /** Called once when the stream ends on its own: cleanly, or with the engine's error. */
  end(error?: AppError): void;
}
