/** The engine the end-to-end tests run against: KILN_ENGINE (set by the test runner for each flavor). */
export const ENGINE = process.env.KILN_ENGINE ?? 'docker:///run/kiln/current/docker.sock'
