// A team's own CDK app that adds Herald to its stack: `npx cdk synth` in this folder.
import { App, Duration, Stack, Validations } from "aws-cdk-lib";
import { Topic } from "aws-cdk-lib/aws-sns";
import { AwsSolutionsChecks } from "cdk-nag";
import { Herald } from "../../lib/herald.ts";

const app = new App();
const stack = new Stack(app, "TeamServices", {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
const oncall = new Topic(stack, "Oncall", { enforceSSL: true });
const herald = new Herald(stack, "Messaging", {
  retention: Duration.days(3),
  deliveryConcurrency: 10,
  alarmTopic: oncall,
});
stack.exportValue(herald.apiUrl, { name: "HeraldApiUrl" });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
