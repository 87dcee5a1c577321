import { injectable } from 'tsyringe';

/** The demo's HTTP client for the tracking service; jobs get it from the container. */
@injectable()
export class TrackingClient {
  private readonly baseUrl = process.env.ERRAND_DEMO_TRACKER ?? 'http://127.0.0.1:9';

  /** Posts one event; throws on any answer but 2xx, so the job is retried. */
  async post(type: string, body: Record<string, unknown>, options: { signal?: AbortSignal } = {}): Promise<void> {
    const response = await fetch(`${this.baseUrl}/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: options.signal,
    });
    if (!response.ok) throw new Error(`Tracking API answered ${response.status} for ${type}`);
  }
}
