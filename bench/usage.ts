// A bench's --help: its options parser throws this, and the bench prints the usage to stdout and exits 0,
// where a wrong option is an error on stderr.
export class UsageRequested extends Error {
  constructor(usage: string) {
    super(usage);
  }
}
