// Fails fast when an npm script runs on a Node older than 24 (the Lambda runtime is nodejs24.x).
// npm scripts normally pick node_modules/.bin/node (the pinned `node@24` devDependency).
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    `Herald needs Node.js 24 or newer, but this is ${process.version}. Run scripts through npm (npm start, npm test), ` +
      "which uses the pinned node@24 from node_modules/.bin, or install Node 24.",
  );
  process.exit(1);
}
