// Sums vitest JSON reports into the one line CI records: "N passed, N failed".
// A report that is missing (a run that crashed before writing it) counts as a failure.
import { readFileSync, existsSync } from 'node:fs'

let passed = 0
let failed = 0
const problems = []
const args = process.argv.slice(2)
// `--failed-step NAME` counts a step that has no test report (build, typecheck, lint) as one failure.
const files = []
for (let index = 0; index < args.length; index += 1) {
  if (args[index] === '--failed-step') {
    failed += 1
    problems.push(`${args[index + 1]} failed`)
    index += 1
  } else {
    files.push(args[index])
  }
}
for (const file of files) {
  if (!existsSync(file)) {
    failed += 1
    problems.push(`${file}: no report (the run did not finish)`)
    continue
  }
  const report = JSON.parse(readFileSync(file, 'utf8'))
  passed += report.numPassedTests
  failed += report.numFailedTests
  const broken = report.testResults.filter((suite) => suite.status === 'failed' && suite.assertionResults.length === 0)
  for (const suite of broken) {
    failed += 1
    problems.push(`${suite.name}: ${suite.message.split('\n')[0]}`)
  }
  if (report.numPendingTests > 0) problems.push(`${file}: ${report.numPendingTests} skipped or todo test(s)`)
}
for (const problem of problems) console.error(`  ${problem}`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
