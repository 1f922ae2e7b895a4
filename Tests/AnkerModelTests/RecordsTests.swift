import AnkerCrypto
import AnkerLog
import Testing

@testable import AnkerModel

@Suite struct RecordsTests {
  @Test func recordsRoundTripCanonically() throws {
    var record = Record(kind: .note, time: Timestamp(milliseconds: 5, counter: 2))
    record[string: .text] = "text"
    record[number: .eventTime] = 300
    record[strings: .answers] = ["a=1", "b=unknown"]
    record[digests: .replaces] = [Digest256.zero]
    let decoded = try Record(decoding: record.encoded)
    #expect(decoded == record)
    #expect(decoded[strings: .answers] == ["a=1", "b=unknown"])
    #expect(decoded[number: .eventTime] == 300)
    var unsorted = record.encoded
    unsorted.append(0)
    #expect(throws: ModelError.self) { try Record(decoding: unsorted) }
    // Unknown kinds decode (later versions may add kinds) and are ignored by the merge.
    let future = Record(kind: RecordKind(rawValue: 999), time: Timestamp(milliseconds: 1))
    #expect(try Record(decoding: future.encoded).kind.rawValue == 999)
  }

  @Test func theIdentityVaultHasItsOwnKey() throws {
    var (admin, recovery, random) = Replica.founder(seed: 20)
    var worker = try Replica.join(&admin, role: .worker, random: &random)
    let (client, _) = try admin.writer.createClient(
      alias: "Rose", code: "R-2", state: admin.state, dag: &admin.dag, now: admin.tick(),
      using: &random)
    _ = try admin.writer.setIdentity(
      "legalName", to: "N. N.", of: client, restrictedTo: [admin.person], state: admin.state,
      dag: &admin.dag, now: admin.tick(), using: &random)
    _ = try admin.writer.setIdentity(
      "address", to: "somewhere", of: client, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    worker.pull(from: admin)
    let mine = try #require(admin.state.clients[client])
    #expect(mine.identity["legalName"]?.shown?.value == "N. N.")
    #expect(mine.identity["address"]?.shown?.value == "somewhere")
    #expect(mine.vaultReadable)
    let theirs = try #require(worker.state.clients[client])
    #expect(theirs.alias == "Rose")  // the pseudonymous part is for every member
    #expect(!theirs.vaultReadable)
    #expect(theirs.identity.isEmpty)
    #expect(admin.state.cases.isEmpty)  // a vault is not a case
    let recovered = JournalState(dag: admin.dag, readers: [recovery.boxKey], now: admin.now)
    #expect(recovered.clients[client]?.identity["legalName"]?.shown?.value == "N. N.")
  }

  @Test func assessmentsPlansAndConsentsAreAppendOnly() throws {
    var (admin, _, random) = Replica.founder(seed: 21)
    let (caseID, _) = try admin.writer.createCase(
      type: .stabilisationStay, state: admin.state, dag: &admin.dag, now: admin.tick(),
      using: &random)
    var risk = admin.writer.newRecord(.riskAssessment, now: admin.tick())
    risk[string: .instrument] = "SARA"
    risk[string: .instrumentVersion] = "3"
    risk[strings: .answers] = ["weapon=unknown", "threats=yes"]
    risk[number: .score] = 14
    risk[number: .judgement] = UInt64(Judgement.high.rawValue)
    risk[number: .nextReview] = admin.now + 1000
    let assessment = try admin.writer.append(
      risk, in: caseID, state: admin.state, dag: &admin.dag, using: &random)
    for text in ["plan one", "plan two"] {
      var plan = admin.writer.newRecord(.safetyPlan, now: admin.tick())
      plan[string: .text] = text
      _ = try admin.writer.append(
        plan, in: caseID, state: admin.state, dag: &admin.dag, using: &random)
    }
    var consent = admin.writer.newRecord(.consent, now: admin.tick())
    consent[string: .purpose] = "referral"
    consent[string: .recipient] = "social services"
    consent[number: .form] = UInt64(Consent.Form.written.rawValue)
    consent[number: .expiry] = admin.now + 10_000_000
    let given = try admin.writer.append(
      consent, in: caseID, state: admin.state, dag: &admin.dag, using: &random)
    var revoke = admin.writer.newRecord(.consentRevoked, now: admin.tick())
    revoke[digest: .consent] = given.id
    _ = try admin.writer.append(
      revoke, in: caseID, state: admin.state, dag: &admin.dag, using: &random)
    let state = admin.state
    let record = try #require(state.cases[caseID])
    #expect(record.risks[assessment.id]?.judgement == .high)
    #expect(record.risks[assessment.id]?.answers == ["weapon=unknown", "threats=yes"])
    #expect(record.risks[assessment.id]?.assessor == admin.person)
    #expect(record.safetyPlans.values.map(\.text).sorted() == ["plan one", "plan two"])
    #expect(record.consents[given.id]?.isValid(at: admin.now) == false)
    #expect(state.timeline(caseID).count == 4)
    #expect(state.reviewsDue(now: admin.now + 1000).map(\.caseID) == [caseID])
    #expect(state.reviewsDue(now: admin.now - 10_000).isEmpty)
  }

  @Test func queriesFilterAndCountWithoutIdentities() throws {
    var (admin, _, random) = Replica.founder(seed: 22)
    let (first, _) = try admin.writer.createCase(
      type: .outreach, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    let (second, _) = try admin.writer.createCase(
      type: .phoneLine, state: admin.state, dag: &admin.dag, now: admin.tick(), using: &random)
    _ = try admin.writer.setField(
      CaseField.status, to: CaseField.closed, in: second, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    _ = try admin.writer.updateSet(
      "tags", element: "housing", add: true, in: first, state: admin.state, dag: &admin.dag,
      now: admin.tick(), using: &random)
    let january: UInt64 = 1_704_067_200_000  // 2024-01-01T00:00Z
    let february: UInt64 = 1_706_745_600_000  // 2024-02-01T00:00Z
    for (caseID, kind, time) in [
      (first, NoteKind.outreachContact, january), (first, .outreachContact, january + 5),
      (second, .phoneCall, february),
    ] {
      _ = try admin.writer.addNote(
        kind, text: "x", eventTime: time, in: caseID, state: admin.state, dag: &admin.dag,
        now: admin.tick(), using: &random)
    }
    let state = admin.state
    #expect(state.cases(status: CaseField.open).map(\.id) == [first])
    #expect(state.cases(status: CaseField.closed).map(\.id) == [second])
    #expect(state.cases(tag: "housing").map(\.id) == [first])
    #expect(state.cases(tag: "legal").isEmpty)
    let counts = state.contactsPerMonth()
    #expect(counts["2024-01"]?[.outreachContact] == 2)
    #expect(counts["2024-02"]?[.phoneCall] == 1)
    #expect(JournalState.month(0) == "1970-01")
    #expect(JournalState.month(951_782_400_000) == "2000-02")  // 2000-02-29
  }
}

@Suite struct RestrictionMergeTests {
  @Test func concurrentGenerationsNeverLoseARestriction() {
    var random = SeededRandom(seed: 40)
    let a = PersonID(using: &random)
    let b = PersonID(using: &random)
    let c = PersonID(using: &random)
    let restriction = JournalState.restriction
    // A newer generation replaces; the same generation narrows, in either order.
    #expect(restriction(2, [], (1, [a])) == (2, []))
    #expect(restriction(2, [a], (2, [])) == (2, [a]))
    #expect(restriction(2, [], (2, [a])) == (2, [a]))
    let ab = [a, b].sorted()
    let bc = [b, c].sorted()
    #expect(restriction(2, ab, (2, bc)) == (2, [b]))
    #expect(restriction(2, bc, (2, ab)) == (2, [b]))
    #expect(restriction(1, [a], (2, [])) == (2, []))  // an older generation changes nothing
    #expect(restriction(2, [c], (2, ab)).1 == [c])  // nobody in common: the shorter list
  }
}
