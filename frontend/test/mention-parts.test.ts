import { expect, test } from "bun:test";
import { mentionParts, typedMention } from "../src/mention-parts.ts";

test("@names of members are marked (mine apart), anything else stays text", () => {
  expect(mentionParts("hi @Bob and @eve, thanks @me.", ["bob", "me"], "me")).toEqual([
    { text: "hi " },
    { text: "@Bob", mention: { me: false } },
    { text: " and @eve, thanks " },
    { text: "@me", mention: { me: true } },
    { text: "." },
  ]);
  expect(mentionParts("mail@bob.com", ["bob"], "me")).toEqual([{ text: "mail@bob.com" }]);
  expect(mentionParts("", ["bob"], "me")).toEqual([]);
});

test("the @prefix typed before the caret", () => {
  expect(typedMention("hello @bo", 9)).toEqual({ prefix: "bo", start: 6 });
  expect(typedMention("@", 1)).toEqual({ prefix: "", start: 0 });
  expect(typedMention("mail@bo", 7)).toBeNull();
  expect(typedMention("hello @bob now", 14)).toBeNull();
});
