// Loaded into dynalite with node --require by dynalite_test.go: dynalite
// exits when its standard input closes, that is when the test process that
// started it ends, however it ends (a panic skips TestMain's cleanup).
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
