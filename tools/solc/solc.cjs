#!/usr/bin/env node
// A native-solc-compatible facade over the pinned npm `solc` package (solc-js / soljson).
//
// py-solc-x and ape-solidity call a `solc` binary; none can be downloaded here, so this script
// answers the two calls they make:
//   solc --version
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths P1,P2]  < input.json
// Imports that the input does not carry are resolved from disk by the import callback: relative to
// --base-path, then each --include-path, then the working directory, and only inside the allowed paths.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

function parseArgs(argv) {
  const opts = { standardJson: false, version: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inlineValue] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => (inlineValue !== undefined ? inlineValue : argv[++i]);
    switch (flag) {
      case '--version': opts.version = true; break;
      case '--standard-json': opts.standardJson = true; break;
      case '--base-path': opts.basePath = value(); break;
      case '--include-path': opts.includePaths.push(value()); break;
      case '--allow-paths': opts.allowPaths.push(...value().split(',').filter(Boolean)); break;
      default:
        process.stderr.write(`solc facade: unsupported argument '${arg}' (only --version and --standard-json are served)\n`);
        process.exit(2);
    }
  }
  return opts;
}

function versionText() {
  // Native solc prints e.g. "Version: 0.8.30+commit.73712a01.Linux.g++"; keep the same shape.
  return `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`;
}

function makeImportCallback(opts) {
  const roots = [opts.basePath, ...opts.includePaths, process.cwd()].filter(Boolean).map((p) => path.resolve(p));
  const allowed = [...roots, ...opts.allowPaths.map((p) => path.resolve(p))];
  const isAllowed = (file) => allowed.some((dir) => file === dir || file.startsWith(dir + path.sep));
  return (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      const file = path.resolve(candidate);
      if (!isAllowed(file)) continue;
      try {
        return { contents: fs.readFileSync(file, 'utf8') };
      } catch (err) {
        if (err.code !== 'ENOENT' && err.code !== 'EISDIR') return { error: `${file}: ${err.message}` };
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write(versionText());
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write('solc facade: pass --version or --standard-json\n');
    process.exit(2);
  }
  const input = fs.readFileSync(0, 'utf8');
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  process.stdout.write(output);
}

main();
