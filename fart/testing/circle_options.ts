/** Test data: the circles' options the picture's tests start from, May 2024 in UTC. */
import type { CircleOptions } from "../circles.ts";

export function circleOptions(overrides: Partial<CircleOptions> = {}): CircleOptions {
  return {
    rings: 3,
    ringSizes: "10-20-30",
    background: "#102030",
    border: "#ffcc00",
    showDate: false,
    from: new Date("2024-05-01T00:00:00Z"),
    to: new Date("2024-06-01T00:00:00Z"),
    ...overrides,
  };
}
