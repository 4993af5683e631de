import Alerting
import Foundation
import Testing

@Suite("Alert state machine")
struct AlertStateMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let immediate = AlertPolicy(forDuration: .zero, cooldown: .seconds(600), repeatInterval: nil)
    let damped = AlertPolicy(forDuration: .seconds(120), cooldown: .seconds(600), repeatInterval: nil)

    func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
    func breach(_ value: Double = 20) -> AlertObservation { .value(value, breached: true) }
    var clear: AlertObservation { .value(1, breached: false) }

    @Test("a duration read back from the store a fraction of a microsecond short still counts")
    func durationsToleratePrecisionLoss() {
        // Pending since a time stored to the microsecond, read back 0.3 µs later than the
        // evaluation that opened it: two minutes on is still two minutes.
        let pending = AlertState(status: .pending, pendingSince: at(0.000_000_3))
        let (state, actions) = AlertStateMachine.evaluate(pending, breach(), at: at(120), policy: damped)
        #expect(state.status == .firing)
        #expect(actions == [.promoteToFiring, .notifyFiring])
        // A whole second short is not.
        let early = AlertStateMachine.evaluate(pending, breach(), at: at(119), policy: damped)
        #expect(early.state.status == .pending)
        #expect(early.actions.isEmpty)
    }

    @Test("inactive + breach fires at once and notifies once")
    func inactiveFires() {
        let (state, actions) = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: immediate)
        #expect(state.status == .firing)
        #expect(state.firedAt == t0)
        #expect(actions == [.openFiring, .notifyFiring])
    }

    @Test("inactive + clear, no data or failure changes nothing")
    func inactiveQuiet() {
        for observation in [clear, .noData, .failed] {
            let (state, actions) = AlertStateMachine.evaluate(.inactive, observation, at: t0, policy: immediate)
            #expect(state == .inactive)
            #expect(actions.isEmpty)
        }
    }

    @Test("firing + breach stays firing without a second notification")
    func firingStays() {
        var state = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: immediate).state
        for minute in 1...30 {
            let result = AlertStateMachine.evaluate(state, breach(), at: at(Double(minute) * 60), policy: immediate)
            #expect(result.actions.isEmpty)
            state = result.state
        }
        #expect(state.status == .firing)
    }

    @Test("firing + clear resolves and sends the resolved notification")
    func firingResolves() {
        let firing = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: immediate).state
        let (state, actions) = AlertStateMachine.evaluate(firing, clear, at: at(60), policy: immediate)
        #expect(state.status == .resolved)
        #expect(state.resolvedAt == at(60))
        #expect(actions == [.resolve, .notifyResolved])
    }

    @Test("no data and failures keep a firing alert firing")
    func firingNoData() {
        let firing = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: immediate).state
        for observation in [AlertObservation.noData, .failed] {
            let (state, actions) = AlertStateMachine.evaluate(firing, observation, at: at(60), policy: immediate)
            #expect(state == firing)
            #expect(actions.isEmpty)
        }
    }

    @Test("pending until for_minutes has passed, then firing")
    func pendingThenFiring() {
        let (pending, open) = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: damped)
        #expect(pending.status == .pending)
        #expect(pending.pendingSince == t0)
        #expect(open == [.openPending])
        let (still, none) = AlertStateMachine.evaluate(pending, breach(), at: at(119), policy: damped)
        #expect(still.status == .pending)
        #expect(none.isEmpty)
        let (firing, fire) = AlertStateMachine.evaluate(still, breach(), at: at(120), policy: damped)
        #expect(firing.status == .firing)
        #expect(firing.firedAt == at(120))
        #expect(fire == [.promoteToFiring, .notifyFiring])
    }

    @Test("pending + clear cancels without any notification")
    func pendingCancels() {
        let pending = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: damped).state
        let (state, actions) = AlertStateMachine.evaluate(pending, clear, at: at(60), policy: damped)
        #expect(state.status == .inactive)
        #expect(actions == [.cancelPending])
    }

    @Test("flapping input under for_minutes never notifies")
    func flappingDamped() {
        var state = AlertState.inactive
        var notifications = 0
        for step in 0..<100 {
            let observation = step.isMultiple(of: 2) ? breach() : clear
            let result = AlertStateMachine.evaluate(state, observation, at: at(Double(step) * 30), policy: damped)
            notifications += result.actions.filter { $0 == .notifyFiring }.count
            state = result.state
        }
        #expect(notifications == 0)
    }

    @Test("flapping input without damping is held back by the cooldown")
    func flappingCooldown() {
        var state = AlertState.inactive
        var fired = 0
        var resolved = 0
        // Flaps every minute for an hour; cooldown 10 minutes.
        for minute in 0..<60 {
            let observation = minute.isMultiple(of: 2) ? breach() : clear
            let result = AlertStateMachine.evaluate(state, observation, at: at(Double(minute) * 60), policy: immediate)
            fired += result.actions.filter { $0 == .notifyFiring }.count
            resolved += result.actions.filter { $0 == .notifyResolved }.count
            state = result.state
        }
        // Fire at 0, resolve at 1, then breaches before 11 min are ignored: fire again at 12, 24, 36, 48.
        #expect(fired == 5)
        #expect(resolved == 5)
    }

    @Test("resolved + breach within the cooldown is ignored; after it, fires again")
    func cooldown() {
        let firing = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: immediate).state
        let resolved = AlertStateMachine.evaluate(firing, clear, at: at(60), policy: immediate).state
        let during = AlertStateMachine.evaluate(resolved, breach(), at: at(60 + 599), policy: immediate)
        #expect(during.state == resolved)
        #expect(during.actions.isEmpty)
        let after = AlertStateMachine.evaluate(resolved, breach(), at: at(60 + 600), policy: immediate)
        #expect(after.state.status == .firing)
        #expect(after.actions == [.openFiring, .notifyFiring])
    }

    @Test("resolved + clear stays resolved")
    func resolvedQuiet() {
        let resolved = AlertState(status: .resolved, resolvedAt: t0)
        let (state, actions) = AlertStateMachine.evaluate(resolved, clear, at: at(5), policy: immediate)
        #expect(state == resolved)
        #expect(actions.isEmpty)
    }

    @Test("the repeat interval re-notifies a firing alert, not an acknowledged one")
    func repeatInterval() {
        let policy = AlertPolicy(forDuration: .zero, cooldown: .zero, repeatInterval: .seconds(300))
        var state = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: policy).state
        var repeats: [Double] = []
        for minute in 1...16 {
            let result = AlertStateMachine.evaluate(state, breach(), at: at(Double(minute) * 60), policy: policy)
            if result.actions == [.notifyRepeat] { repeats.append(Double(minute)) }
            state = result.state
        }
        #expect(repeats == [5, 10, 15])
        let acknowledged = try! AlertStateMachine.acknowledge(state)
        let result = AlertStateMachine.evaluate(acknowledged, breach(), at: at(3600), policy: policy)
        #expect(result.actions.isEmpty)
        #expect(result.state.status == .acknowledged)
    }

    @Test("acknowledged + clear resolves with a resolved notification")
    func acknowledgedResolves() throws {
        let firing = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: immediate).state
        let acknowledged = try AlertStateMachine.acknowledge(firing)
        #expect(acknowledged.status == .acknowledged)
        let (state, actions) = AlertStateMachine.evaluate(acknowledged, clear, at: at(30), policy: immediate)
        #expect(state.status == .resolved)
        #expect(actions == [.resolve, .notifyResolved])
    }

    @Test("acknowledge and resolve by hand are refused from the wrong states")
    func manualTransitions() throws {
        #expect(throws: AlertTransitionError.self) { try AlertStateMachine.acknowledge(.inactive) }
        #expect(throws: AlertTransitionError.self) { try AlertStateMachine.acknowledge(AlertState(status: .resolved)) }
        #expect(throws: AlertTransitionError.self) { try AlertStateMachine.acknowledge(AlertState(status: .acknowledged)) }
        #expect(throws: AlertTransitionError.self) { try AlertStateMachine.resolve(.inactive, at: t0) }
        #expect(throws: AlertTransitionError.self) { try AlertStateMachine.resolve(AlertState(status: .resolved), at: t0) }
        for status in [AlertState.Status.pending, .firing, .acknowledged] {
            let resolved = try AlertStateMachine.resolve(AlertState(status: status), at: t0)
            #expect(resolved.status == .resolved)
            #expect(resolved.resolvedAt == t0)
        }
        #expect(try AlertStateMachine.acknowledge(AlertState(status: .pending)).status == .acknowledged)
    }

    @Test("a restart (state read back from the store) neither loses nor re-sends a firing alert")
    func restart() {
        let firing = AlertStateMachine.evaluate(.inactive, breach(), at: t0, policy: immediate).state
        // What the store keeps: status and times. A new process starts from that.
        let reloaded = AlertState(status: firing.status, pendingSince: firing.pendingSince, firedAt: firing.firedAt,
                                  lastNotifiedAt: firing.lastNotifiedAt, resolvedAt: firing.resolvedAt)
        let (state, actions) = AlertStateMachine.evaluate(reloaded, breach(), at: at(3600), policy: immediate)
        #expect(state.status == .firing)
        #expect(actions.isEmpty)
        let (cleared, resolveActions) = AlertStateMachine.evaluate(reloaded, clear, at: at(3600), policy: immediate)
        #expect(cleared.status == .resolved)
        #expect(resolveActions == [.resolve, .notifyResolved])
    }

    @Test("every status answers every observation without crashing", arguments: AlertState.Status.allCases)
    func exhaustive(status: AlertState.Status) {
        let state = AlertState(status: status, pendingSince: t0, firedAt: t0, lastNotifiedAt: t0, resolvedAt: t0)
        for observation in [breach(), clear, .noData, .failed] {
            for policy in [immediate, damped, AlertPolicy(repeatInterval: .seconds(1))] {
                let (next, actions) = AlertStateMachine.evaluate(state, observation, at: at(10_000), policy: policy)
                // Notifications only ever follow a state change into firing/resolved or a repeat.
                if actions.contains(.notifyFiring) { #expect(next.status == .firing) }
                if actions.contains(.notifyResolved) { #expect(next.status == .resolved) }
                if observation == .noData || observation == .failed { #expect(next == state && actions.isEmpty) }
            }
        }
    }
}

@Suite("Retry schedule and fingerprint")
struct RetryScheduleTests {
    @Test func exponentialBackoff() {
        let schedule = RetrySchedule(maxAttempts: 6, initialDelay: .seconds(1), multiplier: 2, maxDelay: .seconds(10))
        #expect(schedule.delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10)])
        #expect(schedule.delay(afterAttempt: 6) == nil)
        #expect(schedule.delay(afterAttempt: 0) == nil)
        #expect(RetrySchedule(maxAttempts: 1).delays.isEmpty)
        #expect(RetrySchedule(maxAttempts: 0).maxAttempts == 1)
    }

    @Test func retryableOutcomes() {
        #expect(RetrySchedule.isRetryable(statusCode: nil))
        #expect(RetrySchedule.isRetryable(statusCode: 503))
        #expect(RetrySchedule.isRetryable(statusCode: 429))
        #expect(RetrySchedule.isRetryable(statusCode: 408))
        #expect(!RetrySchedule.isRetryable(statusCode: 400))
        #expect(!RetrySchedule.isRetryable(statusCode: 404))
    }

    @Test func fingerprintIsStable() {
        let labels = ["alertname": "High Error Rate", "severity": "critical", "rule_id": "abc"]
        let shuffled = Dictionary(uniqueKeysWithValues: labels.reversed().map { ($0.key, $0.value) })
        #expect(Fingerprint.of(labels) == Fingerprint.of(shuffled))
        #expect(Fingerprint.of(labels).count == 16)
        #expect(Fingerprint.of(labels) != Fingerprint.of(labels.merging(["service": "x"]) { $1 }))
        // Label boundaries count: {"a": "bc"} differs from {"ab": "c"}.
        #expect(Fingerprint.of(["a": "bc"]) != Fingerprint.of(["ab": "c"]))
    }
}
