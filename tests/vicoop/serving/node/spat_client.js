// A SPaT client in Node: @grpc/grpc-js with the contract loaded from protos/ by
// @grpc/proto-loader (protobufjs underneath), as a Node user builds one.
//
//   node spat_client.js TARGET RESPONSES INTERSECTION_IDS_JSON
//
// Opens one StreamSpat for the intersections in INTERSECTION_IDS_JSON (a JSON list, [] for all),
// reads RESPONSES responses and prints one JSON object on stdout: {"responses": [...]}, each as
// proto-loader decoded it (64-bit integers as decimal strings, enums as numbers, unset optional
// fields absent). Any gRPC error other than our own cancel exits with status 1.
"use strict";

const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTOS = path.resolve(__dirname, "..", "..", "..", "..", "protos");

function main(argv) {
  const [target, countArg, idsArg] = argv;
  const count = Number.parseInt(countArg, 10);
  const definition = protoLoader.loadSync("vicoop/v1/roadside.proto", {
    includeDirs: [PROTOS],
    keepCase: true,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const { Roadside } = grpc.loadPackageDefinition(definition).vicoop.v1;
  const client = new Roadside(target, grpc.credentials.createInsecure());
  const received = [];
  const call = client.StreamSpat({ intersection_ids: JSON.parse(idsArg) });
  call.on("data", (response) => {
    received.push(response);
    if (received.length === count) {
      call.cancel();
      client.close();
      process.stdout.write(JSON.stringify({ responses: received }) + "\n");
    }
  });
  call.on("error", (error) => {
    if (received.length < count) {
      process.stderr.write(`spat_client: ${error.message}\n`);
      process.exit(1);
    }
  });
}

main(process.argv.slice(2));
