// A vehicle client in Node, built the way a Node user builds one: @grpc/grpc-js with the
// contract loaded from protos/vicoop/v1/*.proto by @grpc/proto-loader (protobufjs underneath).
//
//   node perception_client.js TARGET FRAMES OPTIONS_JSON [OPTIONS_JSON ...]
//
// Opens one StreamPerception per OPTIONS_JSON (a vicoop.v1.SubscriptionOptions as proto-loader
// takes it, e.g. '{"classes": [5]}'), reads FRAMES responses from each, and prints on stdout one
// JSON object: {"streams": [[frame, ...], ...]}, each frame as proto-loader decoded it (64-bit
// integers as decimal strings, enums as numbers, unset fields as their defaults). The caller
// judges what was decoded; any gRPC error other than our own cancel exits with status 1.
"use strict";

const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTOS = path.resolve(__dirname, "..", "..", "..", "..", "protos");

function main(argv) {
  const [target, framesArg, ...optionsArgs] = argv;
  const frames = Number.parseInt(framesArg, 10);
  const definition = protoLoader.loadSync("vicoop/v1/roadside.proto", {
    includeDirs: [PROTOS],
    keepCase: true,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const { Roadside } = grpc.loadPackageDefinition(definition).vicoop.v1;
  const client = new Roadside(target, grpc.credentials.createInsecure());
  const streams = optionsArgs.map((options) => read(client, JSON.parse(options), frames));
  Promise.all(streams).then(
    (received) => {
      client.close();
      process.stdout.write(JSON.stringify({ streams: received }) + "\n");
    },
    (error) => {
      client.close();
      process.stderr.write(`perception_client: ${error.message}\n`);
      process.exit(1);
    },
  );
}

// The first `frames` frames of a StreamPerception with `options`.
function read(client, options, frames) {
  return new Promise((resolve, reject) => {
    const received = [];
    const call = client.StreamPerception({ options });
    call.on("data", (response) => {
      received.push(response.frame);
      if (received.length === frames) {
        call.cancel();
        resolve(received);
      }
    });
    call.on("error", (error) => {
      if (received.length < frames) reject(error);
    });
    call.on("end", () => {
      if (received.length < frames) {
        reject(new Error(`the stream ended after ${received.length} of ${frames} frames`));
      }
    });
  });
}

main(process.argv.slice(2));
