// deliver-races.test.ts still imports the fixture from here; it now lives in test/support/.
export * from "../support/message-fixture.ts";
