// How an API Gateway HTTP API hands a request's path to Lambda (payload 2.0 `rawPath`), for the stand-in
// in emulated-aws-server.ts. Each rule follows a public capture of real HTTP APIs:
// - percent-decoded: `/a%2Fb` arrives as `/a/b`, `%25` as `%` (fastify/aws-lambda-fastify#169,
//   Worklytics/psoxy#827; REST APIs and Lambda Function URLs keep the encoding: hotsock/voker#8);
// - cut at a decoded `?`: what follows it is lost (middleapi/standard-server#93, from hotsock/voker#8);
// - repeated slashes collapsed: `/v2/publish/https://x` arrives as `/v2/publish/https:/x` (seen from the
//   first AWS deployments of Herald's kind; destination parsing repairs it).
// A Function URL stand-in uses the path as sent (functionUrlRawPath).

/** The `rawPath` an HTTP API gives the Lambda for a request path as sent (without its query). */
export function httpApiRawPath(sent: string): string {
  const collapsed = sent.replace(/\/{2,}/g, "/");
  // Runs of escapes decode together (a UTF-8 character spans several); a run that is not valid UTF-8
  // stays as sent.
  const decoded = collapsed.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
  const question = decoded.indexOf("?");
  return question < 0 ? decoded : decoded.slice(0, question);
}

/** The `rawPath` a Lambda Function URL gives: the path as sent, encoding kept (hotsock/voker#8). */
export function functionUrlRawPath(sent: string): string {
  return sent;
}
