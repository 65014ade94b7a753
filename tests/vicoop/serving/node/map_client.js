// A MAP client in Node: @grpc/grpc-js with the contract loaded from protos/ by
// @grpc/proto-loader (protobufjs underneath), as a Node user builds one.
//
//   node map_client.js TARGET INTERSECTION_IDS_JSON
//
// Calls GetMap for the intersections in INTERSECTION_IDS_JSON (a JSON list, [] for all) and
// prints the response on stdout as one JSON object, as proto-loader decoded it (enums as
// numbers, unset optional fields absent, defaults filled in). A gRPC error prints
// {"error": {"code", "details"}} and exits with status 2.
"use strict";

const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTOS = path.resolve(__dirname, "..", "..", "..", "..", "protos");

function main(argv) {
  const [target, idsArg] = argv;
  const definition = protoLoader.loadSync("vicoop/v1/roadside.proto", {
    includeDirs: [PROTOS],
    keepCase: true,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const { Roadside } = grpc.loadPackageDefinition(definition).vicoop.v1;
  const client = new Roadside(target, grpc.credentials.createInsecure());
  client.GetMap({ intersection_ids: JSON.parse(idsArg) }, (error, response) => {
    client.close();
    if (error) {
      process.stdout.write(JSON.stringify({ error: { code: error.code, details: error.details } }) + "\n");
      process.exit(2);
    }
    process.stdout.write(JSON.stringify(response) + "\n");
  });
}

main(process.argv.slice(2));
