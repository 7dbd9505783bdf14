// Package priority computes an incident's priority score and its generated
// name from its alerts. Both are pure functions of their input: no I/O, no
// clock (the caller passes Now), no state, so a replay gives the same scores
// and names as the live run.
//
// # Score
//
// Score adds the points of seven factors and clamps the sum to 0–100. Each
// factor is returned with its points and a sentence, so the queue can say why
// an incident is on top. Bands are Defender's: top above 85, medium 15–85,
// low below 15 (Band).
//
//	factor            points                                    why
//	severity          informational 2, low 6, medium 18,         the detector's own judgement is the
//	                  high 30 (highest alert)                    strongest single signal, but alone
//	                                                             it never reaches the top band
//	attackTactics     per distinct tactic by stage: recon,       kill-chain progression: each stage
//	                  resource development 1; initial access,    reached is one more defence that
//	                  execution, defense evasion, discovery 2;   failed, and late stages mean the
//	                  persistence, privilege escalation,         attacker is close to the goal
//	                  collection 3; credential access, C2 4;
//	                  lateral movement, exfiltration,
//	                  impact 5; at most 20
//	sources           +7 per domain after the first (endpoint,   the same attack seen by endpoint,
//	                  identity, email, cloud app, network),      identity and email products has
//	                  at most 14; +2 per detection source        spread across the estate, and is
//	                  after the first, at most 4                 unlikely to be one product's noise
//	assetCriticality  criticality 1: 4, 2: 10, 3: 18 (the most   what is at stake: a domain
//	                  critical device, user or mailbox not       controller or an executive is worth
//	                  only in the attacker role)                 more than a kiosk
//	highImpact        ransomware 12, impact 8, exfiltration 8,   outcomes that cost the most when
//	                  credential access 6; at most 20            missed; counted on top of tactics
//	detectorRarity    rarest detector with a known prevalence:   signal-to-noise: a detector that
//	                  < 0.1% of the tenant's recent alerts +8,   rarely fires in this tenant is worth
//	                  < 1% +4, ≥ 5% −4, ≥ 20% −8                 a look; one that fires all day is
//	                                                             mostly tuning debt
//	recency           last activity < 1 h +5, < 6 h +3,          a live attack can still be stopped;
//	                  < 24 h +1, ≥ 7 d −5, ≥ 30 d −10            an old one is history
//
// The weights are calibrated, and tested, so that a single informational or
// low alert from a common detector is low; a single high-severity alert is
// medium; a multi-stage attack across endpoint, identity and email with
// credential access and lateral movement reaches the top band when it touches
// a critical asset (criticality 2 or 3) and stays high in medium otherwise.
// Severity plus tactics plus sources can reach about 70: the top band needs
// at least one of an important asset, a high-impact outcome, a rare detector
// or live activity on top of a serious, spreading attack.
//
// Every factor is a maximum, a union or a capped count over the alerts, and
// rarity takes the rarest detector and recency the latest activity, so adding
// an alert to an incident never lowers its score (at a fixed Now). Over time,
// with no new alerts, recency lets the score decay.
//
// # Categories and ATT&CK
//
// Alert categories are matched to ATT&CK tactics in any common spelling
// (ParseCategory, TacticOfCategory), and techniques to their tactics with a
// table generated from MITRE ATT&CK Enterprise (TacticsOfTechnique; see
// attack_table.go and ATTACK_LICENSE.txt). Regenerate it with go generate
// when the ATT&CK data in shared/data/attack changes.
//
// # Name
//
// Name follows Defender's grammar: a single-alert incident is named after its
// alert, a multi-alert one e.g. "Multi-stage incident involving Initial access
// & Lateral movement on multiple endpoints reported by multiple sources".
package priority
