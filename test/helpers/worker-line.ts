/**
 * A worker line's duration, in every form formatDuration gives it: `1.84ms` below a second,
 * `1s 234ms` below a minute, `2m 5s` beyond (a slow machine may take a second over any job).
 */
export const DURATION = String.raw`(?:\d+\.\d\dms|\d+s \d+ms|\d+m \d+s)`;
