/** The words of a system line, for readers that show text only (previews, notifications, old clients). */
import type { SystemDoc } from "../../libs/collections.ts";

const list = (names: string[]) =>
  names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;

/** "alice renamed the group to Lunch", "alice added bob and carol", "bob left". */
export function describe(s: SystemDoc): string {
  const actorName = s.actorName;
  switch (s.action) {
    case "renamed":
      return s.title ? `${actorName} renamed the group to ${s.title}` : `${actorName} removed the group's name`;
    case "added": {
      // the people added are members after the line, so their names are on it
      const names = s.userIds.map((u) => s.memberNames[s.memberIds.findIndex((m) => m.equals(u))] ?? "someone");
      return `${actorName} added ${list(names)}`;
    }
    case "left":
      return `${actorName} left`;
  }
}
