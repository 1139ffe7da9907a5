import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineCommand, formatHelp, parseCommandLine, portFlag, UsageError } from '../../src/cli/args.js';

const cmd = defineCommand({
  name: 'demo',
  usage: 'gatehouse demo [flags] [PATH...]',
  summary: 'A command for the tests.',
  positionals: true,
  flags: {
    manifests: { type: 'strings', valueName: 'PATH', description: 'Where the manifests are' },
    'ingress-class': { type: 'string', default: 'gatehouse', valueName: 'NAME', description: 'The class served' },
    output: { type: 'string', short: 'o', choices: ['text', 'json'], default: 'text', description: 'Output format' },
    name: { type: 'string', description: 'No default' },
    port: portFlag('Admin port', 9090),
    verbose: { type: 'boolean', short: 'v', description: 'Say more' },
  },
});

const usageError = (argv: string[], message: RegExp): void => {
  assert.throws(
    () => parseCommandLine(cmd, argv),
    (e: unknown) => e instanceof UsageError && e.exitCode === 2 && message.test(e.message),
    `${JSON.stringify(argv)} should fail with ${message}`,
  );
};

describe('parseCommandLine', () => {
  it('gives typed values with defaults', () => {
    const { values, positionals } = parseCommandLine(cmd, []);
    // Types: these assignments fail to compile if the table's types are lost.
    const output: 'text' | 'json' = values.output;
    const port: number = values.port;
    const name: string | undefined = values.name;
    const manifests: string[] = values.manifests;
    const verbose: boolean = values.verbose;
    assert.deepEqual({ output, port, name, manifests, verbose, cls: values['ingress-class'], help: values.help }, {
      output: 'text',
      port: 9090,
      name: undefined,
      manifests: [],
      verbose: false,
      cls: 'gatehouse',
      help: false,
    });
    assert.deepEqual(positionals, []);
  });

  it('collects repeated --manifests and positionals, accepts short and inline forms', () => {
    const { values, positionals } = parseCommandLine(cmd, ['--manifests', 'a', 'x', '--manifests=b', '-ojson', '-v', '--port=8081', '--name', 'n', '--', '--not-a-flag']);
    assert.deepEqual(values.manifests, ['a', 'b']);
    assert.deepEqual(positionals, ['x', '--not-a-flag']);
    assert.equal(values.output, 'json');
    assert.equal(values.verbose, true);
    assert.equal(values.port, 8081);
    assert.equal(values.name, 'n');
  });

  it('rejects unknown flags, with a suggestion when one is close', () => {
    usageError(['--manifest', 'a'], /^unknown flag --manifest \(did you mean --manifests\?\)$/);
    usageError(['--ingres-clas', 'x'], /did you mean --ingress-class\?/);
    usageError(['--zzzzzz'], /^unknown flag --zzzzzz$/);
    usageError(['-x'], /^unknown flag -x$/);
  });

  it('rejects bad values: port range, integers, choices, missing values, values to booleans', () => {
    usageError(['--port', '0'], /^flag --port must be an integer from 1 to 65535; got 0$/);
    usageError(['--port', '65536'], /from 1 to 65535; got 65536/);
    usageError(['--port', '80a'], /must be an integer from 1 to 65535; got "80a"/);
    usageError(['--port', '1.5'], /must be an integer/);
    usageError(['-o', 'yaml'], /^flag --output must be one of text, json; got "yaml"$/);
    usageError(['--name'], /^flag --name needs a value: --name VALUE$/);
    usageError(['--manifests', '--port', '80'], /^flag --manifests needs a value, got the flag --port/);
    usageError(['--manifests', '-v'], /needs a value, got the flag -v/);
    usageError(['--manifests='], /needs a non-empty value/);
    usageError(['--verbose=yes'], /^flag --verbose takes no value/);
    assert.equal(parseCommandLine(cmd, ['--port', '65535']).values.port, 65535);
    assert.deepEqual(parseCommandLine(cmd, ['--manifests=-odd-name']).values.manifests, ['-odd-name']);
  });

  it('rejects positionals for commands that take none', () => {
    const flagsOnly = defineCommand({ name: 'plain', usage: 'gatehouse plain', summary: 's', flags: {} });
    assert.throws(() => parseCommandLine(flagsOnly, ['extra']), /unexpected argument "extra": "gatehouse plain" takes only flags/);
  });

  it('--help wins over other mistakes', () => {
    assert.equal(parseCommandLine(cmd, ['--bogus', '-h']).values.help, true);
    assert.equal(parseCommandLine(cmd, ['--port', '0', '--help']).values.help, true);
  });

  it('does not let a table redefine --help', () => {
    assert.throws(() => defineCommand({ name: 'x', usage: 'x', summary: 'x', flags: { help: { type: 'boolean', description: 'mine' } } }), /built in/);
  });
});

describe('formatHelp', () => {
  it('lists every flag with its value, default and notes, aligned', () => {
    const text = formatHelp(cmd);
    assert.equal(
      text,
      [
        'Usage: gatehouse demo [flags] [PATH...]',
        '',
        'A command for the tests.',
        '',
        'Flags:',
        '      --manifests PATH      Where the manifests are (repeatable)',
        '      --ingress-class NAME  The class served (default: gatehouse)',
        '  -o, --output text|json    Output format (default: text)',
        '      --name VALUE          No default',
        '      --port PORT           Admin port (default: 9090)',
        '  -v, --verbose             Say more',
        '  -h, --help                Show this help',
      ].join('\n'),
    );
  });
});
