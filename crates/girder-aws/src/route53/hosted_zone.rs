//! `aws:route53/hostedZone`: a public or private Route 53 hosted zone.
//!
//! The cloud id is the zone id without `/hostedzone/` (`Z0123…`). The domain name and
//! whether the zone is private force a replacement (Route 53 cannot change them); the
//! comment, the associated VPCs and the tags update in place. Deleting a zone that still
//! holds records other than its apex NS and SOA fails with the records named, unless
//! `force_destroy` is set, in which case girder deletes them first. Records the program's
//! own external-dns wrote (its TXT owner ids in `external_dns_owners`) are deleted either way.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, HostedZoneConfig, ResourceRecordSet, RrType,
    VpcRegion,
};
use girder_engine::provider::DefaultTimeouts;
use girder_engine::typed::{
    Recorded, TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ErrorKind, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::checks::normalize_domain;
use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, after_create, has_code, is_not_found};
use crate::ids::HostedZoneId;
use crate::route53::{caller_reference_prefix, route53_pairs, update_zone_tags, zone_tags};
use crate::tags::{self, Tags};
use crate::util::{Poll, settle, wait_until};

/// The type token.
pub const HOSTED_ZONE: &str = "aws:route53/hostedZone";

/// A VPC a private zone answers in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ZoneVpc {
    /// The VPC id.
    pub vpc_id: String,
    /// The VPC's region; absent means the provider's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_region: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Inputs of `aws:route53/hostedZone`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostedZoneInputs {
    /// The domain, lowercase, without the trailing dot; changing it replaces the zone.
    pub name: String,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A private zone answers only in its VPCs; changing it replaces the zone.
    #[serde(default, skip_serializing_if = "is_false")]
    pub private_zone: bool,
    /// The VPCs of a private zone (at least one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<ZoneVpc>,
    /// Delete the zone's records (all but the apex NS and SOA) when deleting it. Not an AWS
    /// setting: it must be recorded by an apply before the delete it allows.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_destroy: bool,
    /// The TXT owner ids of the program's external-dns instances: records they own (see
    /// [`super::external_dns`]) are deleted with the zone, without `force_destroy`. Not an
    /// AWS setting either.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_dns_owners: Vec<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:route53/hostedZone`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostedZoneOutputs {
    /// The domain (repeated from the inputs, so it is known when planning).
    pub name: String,
    /// The zone id, such as `Z0123456789ABCDEFGHIJ`.
    pub zone_id: String,
    /// The ARN.
    pub arn: String,
    /// The name servers to delegate the domain to (empty for private zones).
    #[serde(default)]
    pub name_servers: Vec<String>,
}

/// The `aws:route53/hostedZone` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostedZoneResource;

/// What `GetHostedZone` says about one zone.
struct Described {
    zone: aws_sdk_route53::types::HostedZone,
    name_servers: Vec<String>,
    vpcs: Vec<ZoneVpc>,
}

async fn get_zone(
    route53: &aws_sdk_route53::Client,
    id: &str,
) -> Result<Option<Described>, ProviderError> {
    match route53
        .get_hosted_zone()
        .id(id)
        .send()
        .await
        .aws(&Call::new("GetHostedZone", id))
    {
        Ok(out) => Ok(out.hosted_zone().cloned().map(|zone| Described {
            zone,
            name_servers: out
                .delegation_set()
                .map(|d| d.name_servers().to_vec())
                .unwrap_or_default(),
            vpcs: out
                .vpcs()
                .iter()
                .map(|v| ZoneVpc {
                    vpc_id: v.vpc_id().unwrap_or_default().to_owned(),
                    vpc_region: v.vpc_region().map(|r| r.as_str().to_owned()),
                })
                .collect(),
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The observed inputs and outputs of a zone, shaped like the recorded inputs where they
/// mean the same (VPCs in the recorded order, the provider's region left implicit).
fn observe(
    described: &Described,
    tags_found: &[aws_sdk_route53::types::Tag],
    recorded: Option<&HostedZoneInputs>,
    region: &str,
) -> TypedObserved<HostedZoneInputs, HostedZoneOutputs> {
    let zone_id = HostedZoneId::from_api(described.zone.id());
    let name = normalize_domain(described.zone.name());
    let config = described.zone.config();
    let mut vpcs: Vec<ZoneVpc> = described
        .vpcs
        .iter()
        .map(|v| {
            let implicit = recorded.is_none_or(|r| {
                r.vpcs
                    .iter()
                    .any(|w| w.vpc_id == v.vpc_id && w.vpc_region.is_none())
            });
            ZoneVpc {
                vpc_id: v.vpc_id.clone(),
                vpc_region: v.vpc_region.clone().filter(|r| !(implicit && r == region)),
            }
        })
        .collect();
    vpcs.sort();
    if let Some(recorded) = recorded {
        let mut wanted = recorded.vpcs.clone();
        wanted.sort();
        if wanted == vpcs {
            vpcs = recorded.vpcs.clone();
        }
    }
    TypedObserved::new(
        HostedZoneInputs {
            name: name.clone(),
            comment: config
                .and_then(|c| c.comment())
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            private_zone: config.is_some_and(|c| c.private_zone()),
            vpcs,
            force_destroy: recorded.is_some_and(|r| r.force_destroy),
            external_dns_owners: recorded
                .map(|r| r.external_dns_owners.clone())
                .unwrap_or_default(),
            tags: tags::user_tags(route53_pairs(tags_found)),
        },
        HostedZoneOutputs {
            name,
            arn: zone_id.arn().to_string(),
            zone_id: zone_id.to_string(),
            name_servers: described.name_servers.clone(),
        },
    )
}

fn sdk_vpc(vpc: &ZoneVpc, region: &str) -> aws_sdk_route53::types::Vpc {
    aws_sdk_route53::types::Vpc::builder()
        .vpc_id(&vpc.vpc_id)
        .vpc_region(VpcRegion::from(vpc.vpc_region.as_deref().unwrap_or(region)))
        .build()
}

/// Waits until a change has reached every Route 53 name server (`INSYNC`, usually within a
/// minute).
async fn wait_in_sync(
    route53: &aws_sdk_route53::Client,
    ctx: &CallContext,
    change: Option<&aws_sdk_route53::types::ChangeInfo>,
    what: &str,
) -> Result<(), ProviderError> {
    let Some(change) = change else {
        return Ok(());
    };
    if change.status() == &ChangeStatus::Insync {
        return Ok(());
    }
    let id = change.id().to_owned();
    wait_until(
        ctx,
        what,
        Duration::from_secs(2),
        Duration::from_secs(10),
        || async {
            let out = route53
                .get_change()
                .id(&id)
                .send()
                .await
                .aws(&Call::new("GetChange", &id))?;
            Ok(match out.change_info().map(|c| c.status()) {
                Some(ChangeStatus::Insync) => Poll::Ready(()),
                Some(status) => Poll::Pending(status.as_str().to_owned()),
                None => Poll::Pending("unknown".into()),
            })
        },
    )
    .await
}

/// The record sets of a zone other than its apex NS and SOA (what blocks a delete).
async fn extra_records(
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
    apex: &str,
) -> Result<Vec<ResourceRecordSet>, ProviderError> {
    let apex = format!("{}.", normalize_domain(apex));
    let mut records = Vec::new();
    let mut start: Option<(String, RrType, Option<String>)> = None;
    loop {
        let mut request = route53.list_resource_record_sets().hosted_zone_id(zone_id);
        if let Some((name, kind, identifier)) = start.take() {
            request = request
                .start_record_name(name)
                .start_record_type(kind)
                .set_start_record_identifier(identifier);
        }
        let out = request
            .send()
            .await
            .aws(&Call::new("ListResourceRecordSets", zone_id))?;
        records.extend(
            out.resource_record_sets()
                .iter()
                .filter(|r| {
                    !(normalize_domain(r.name()) == normalize_domain(&apex)
                        && matches!(r.r#type(), RrType::Ns | RrType::Soa))
                })
                .cloned(),
        );
        match (
            out.is_truncated(),
            out.next_record_name(),
            out.next_record_type(),
        ) {
            (true, Some(name), Some(kind)) => {
                start = Some((
                    name.to_owned(),
                    kind.clone(),
                    out.next_record_identifier().map(str::to_owned),
                ));
            }
            _ => return Ok(records),
        }
    }
}

/// Deletes record sets, up to 1000 per change batch (Route 53's limit), waiting for none.
async fn delete_records(
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
    records: Vec<ResourceRecordSet>,
) -> Result<(), ProviderError> {
    for chunk in records.chunks(1000) {
        let changes = chunk
            .iter()
            .map(|record| {
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(record.clone())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProviderError::permanent(format!("a record change is invalid: {e}")))?;
        let batch = ChangeBatch::builder()
            .comment("girder: records deleted with the hosted zone")
            .set_changes(Some(changes))
            .build()
            .map_err(|e| ProviderError::permanent(format!("a change batch is invalid: {e}")))?;
        route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .aws(&Call::deleting("ChangeResourceRecordSets", zone_id))?;
    }
    Ok(())
}

fn describe_records(records: &[ResourceRecordSet]) -> String {
    let shown: Vec<String> = records
        .iter()
        .take(3)
        .map(|r| format!("`{} {}`", r.name(), r.r#type().as_str()))
        .collect();
    let more = records.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// A created zone, its name servers and the change that makes it visible everywhere.
type CreatedZone = (
    aws_sdk_route53::types::HostedZone,
    Vec<String>,
    Option<aws_sdk_route53::types::ChangeInfo>,
);

/// Sends CreateHostedZone with `caller_reference`; a reference already used (by this create's
/// earlier request, whose response was lost) adopts the zone made with it.
async fn create_zone(
    route53: &aws_sdk_route53::Client,
    inputs: &HostedZoneInputs,
    caller_reference: &str,
    region: &str,
    identity: &girder_engine::ResourceIdentity,
) -> Result<CreatedZone, ProviderError> {
    let created = route53
        .create_hosted_zone()
        .name(&inputs.name)
        .caller_reference(caller_reference)
        .hosted_zone_config(
            HostedZoneConfig::builder()
                .set_comment(inputs.comment.clone())
                .private_zone(inputs.private_zone)
                .build(),
        )
        .set_vpc(
            inputs
                .private_zone
                .then(|| inputs.vpcs.first().map(|v| sdk_vpc(v, region)))
                .flatten(),
        )
        .send()
        .await
        .aws(&Call::new("CreateHostedZone", identity));
    match created {
        // The reference was used: by this create's earlier request, whose response was
        // lost. Adopt that zone and finish setting it up.
        Err(e) if has_code(&e, "HostedZoneAlreadyExists") => {
            match zone_by_reference(route53, caller_reference).await? {
                Some((zone, name_servers)) => Ok((zone, name_servers, None)),
                None => Err(e),
            }
        }
        other => other.and_then(|created| {
            let zone = created.hosted_zone().cloned().ok_or_else(|| {
                ProviderError::permanent(format!("CreateHostedZone of {identity} returned no zone"))
            })?;
            let name_servers = created
                .delegation_set()
                .map(|d| d.name_servers().to_vec())
                .unwrap_or_default();
            Ok((zone, name_servers, created.change_info().cloned()))
        }),
    }
}

/// The zone created with `reference`, and its name servers (a lost create's zone).
async fn zone_by_reference(
    route53: &aws_sdk_route53::Client,
    reference: &str,
) -> Result<Option<(aws_sdk_route53::types::HostedZone, Vec<String>)>, ProviderError> {
    let zones: Vec<aws_sdk_route53::types::HostedZone> = route53
        .list_hosted_zones()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("ListHostedZones", "hosted zones"))?;
    let Some(zone) = zones
        .into_iter()
        .find(|z| z.caller_reference() == reference)
    else {
        return Ok(None);
    };
    let described = route53
        .get_hosted_zone()
        .id(zone.id())
        .send()
        .await
        .aws(&Call::new("GetHostedZone", zone.id()))?;
    let name_servers = described
        .delegation_set()
        .map(|d| d.name_servers().to_vec())
        .unwrap_or_default();
    Ok(Some((zone, name_servers)))
}

#[async_trait]
impl TypedResource<AwsClients> for HostedZoneResource {
    type Inputs = HostedZoneInputs;
    type Outputs = HostedZoneOutputs;

    fn check(&self, name: &str, inputs: &girder_core::Value) -> girder_core::Diagnostics {
        crate::checks::hosted_zone(name, inputs)
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(HOSTED_ZONE)
            .replace_on(["name", "private_zone"])
            .echo_inputs()
            .computed(["zone_id", "arn", "name_servers"])
            .timeouts(DefaultTimeouts {
                // Waiting for INSYNC usually takes under a minute; deletes may first remove
                // thousands of records.
                create: Duration::from_secs(600),
                delete: Duration::from_secs(900),
                ..DefaultTimeouts::default()
            })
    }

    fn delete_effects(&self, old: &Recorded<HostedZoneInputs, HostedZoneOutputs>) -> Vec<String> {
        let zone = &old.inputs.name;
        let mut effects = Vec::new();
        if !old.inputs.external_dns_owners.is_empty() {
            effects.push(format!(
                "first deletes the records external-dns wrote in `{zone}` for owner id(s) {} (found by their TXT ownership records)",
                old.inputs
                    .external_dns_owners
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if old.inputs.force_destroy {
            effects.push(format!(
                "deletes every other record set in `{zone}` besides its NS and SOA (`force_destroy`)"
            ));
        }
        effects
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<HostedZoneInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<HostedZoneOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let route53 = clients.route53().await?;
        let region = clients.region().await?.to_owned();
        if inputs.private_zone && inputs.vpcs.is_empty() {
            return Err(ProviderError::invalid_input(format!(
                "{identity}: the private zone `{}` has no VPC; associate one (`.private(vpc.id())`) or make the zone public",
                inputs.name
            )));
        }
        // The caller reference names the identity, so `find` recognises the zone before it
        // carries its tags, and ends in the create's token, so a retry after a lost response
        // sends the same reference and Route 53 refuses a second zone.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let token = attempt.token();
        let caller_reference = format!(
            "{}{}",
            caller_reference_prefix(&identity),
            &token[token.len().saturating_sub(12)..]
        );
        // Route 53 refuses a reused reference, but not every endpoint does (moto makes a
        // second zone): after a lost response, look for the zone first.
        let earlier = attempt
            .find_earlier(ctx, "hosted zone", || {
                zone_by_reference(route53, &caller_reference)
            })
            .await?;
        let created = match earlier {
            Some((zone, name_servers)) => Ok((zone, name_servers, None)),
            None => create_zone(route53, &inputs, &caller_reference, &region, &identity).await,
        };
        let (zone, name_servers, change) = clients.attempts().sent(&attempt, created)?;
        let zone_id = HostedZoneId::from_api(zone.id());
        let id = zone_id.to_string();
        let outputs = HostedZoneOutputs {
            name: normalize_domain(zone.name()),
            zone_id: id.clone(),
            arn: zone_id.arn().to_string(),
            name_servers,
        };
        let partial = |e| {
            after_create(
                e,
                &id,
                girder_core::Value::from_serialize(&outputs).unwrap_or_default(),
            )
        };
        let untagged = Tags::new();
        settle(ctx, &format!("tagging hosted zone {id}"), || {
            update_zone_tags(route53, &id, &identity, &untagged, &inputs.tags)
        })
        .await
        .map_err(partial)?;
        for vpc in inputs.vpcs.iter().skip(1) {
            route53
                .associate_vpc_with_hosted_zone()
                .hosted_zone_id(&id)
                .vpc(sdk_vpc(vpc, &region))
                .send()
                .await
                .aws(&Call::new("AssociateVPCWithHostedZone", &identity))
                .map_err(partial)?;
        }
        if let Err(e) = wait_in_sync(
            route53,
            ctx,
            change.as_ref(),
            &format!(
                "hosted zone {} ({id}) to reach every Route 53 server",
                inputs.name
            ),
        )
        .await
        {
            // The zone is complete; only its propagation was not seen. Replacing it would
            // change its name servers, so it is kept.
            tracing::warn!(%identity, zone = %id, error = %e, "hosted zone created; propagation not confirmed");
        }
        Ok(TypedCreateResponse::new(id, outputs))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<HostedZoneInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<HostedZoneInputs, HostedZoneOutputs>, ProviderError> {
        let items = req.items;
        let route53 = clients.route53().await?;
        let region = clients.region().await?;
        // GetHostedZone is the only call that reports name servers and VPCs: one per zone.
        let mut described = Vec::with_capacity(items.len());
        for item in &items {
            described.push(get_zone(route53, &item.id).await?);
        }
        // Tags are batched: ten zones per call.
        let found: Vec<String> = items
            .iter()
            .zip(&described)
            .filter(|(_, d)| d.is_some())
            .map(|(i, _)| i.id.clone())
            .collect();
        let tag_sets = zone_tags(route53, &found).await?;
        Ok(items
            .iter()
            .zip(described)
            .map(|(item, described)| {
                described.map(|d| {
                    observe(
                        &d,
                        tag_sets
                            .get(&item.id)
                            .map(Vec::as_slice)
                            .unwrap_or_default(),
                        item.inputs.as_ref(),
                        region,
                    )
                })
            })
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<HostedZoneInputs, HostedZoneOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<HostedZoneOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let route53 = clients.route53().await?;
        let region = clients.region().await?;
        let id = old.id.as_str();
        if old.inputs.comment != inputs.comment {
            route53
                .update_hosted_zone_comment()
                .id(id)
                .set_comment(inputs.comment.clone())
                .send()
                .await
                .aws(&Call::new("UpdateHostedZoneComment", &old.identity))?;
        }
        if old.inputs.vpcs != inputs.vpcs {
            // Associate first: a private zone must keep at least one VPC at every moment.
            let key = |v: &ZoneVpc| {
                (
                    v.vpc_id.clone(),
                    v.vpc_region.clone().unwrap_or_else(|| region.to_owned()),
                )
            };
            let before: Vec<_> = old.inputs.vpcs.iter().map(key).collect();
            let after: Vec<_> = inputs.vpcs.iter().map(key).collect();
            for vpc in inputs.vpcs.iter().filter(|v| !before.contains(&key(v))) {
                route53
                    .associate_vpc_with_hosted_zone()
                    .hosted_zone_id(id)
                    .vpc(sdk_vpc(vpc, region))
                    .send()
                    .await
                    .aws(&Call::new("AssociateVPCWithHostedZone", &old.identity))?;
            }
            for vpc in old.inputs.vpcs.iter().filter(|v| !after.contains(&key(v))) {
                match route53
                    .disassociate_vpc_from_hosted_zone()
                    .hosted_zone_id(id)
                    .vpc(sdk_vpc(vpc, region))
                    .send()
                    .await
                    .aws(&Call::new("DisassociateVPCFromHostedZone", &old.identity))
                {
                    Err(e) if has_code(&e, "VPCAssociationNotFound") => {}
                    other => {
                        other?;
                    }
                }
            }
        }
        if old.inputs.tags != inputs.tags {
            update_zone_tags(route53, id, &old.identity, &old.inputs.tags, &inputs.tags).await?;
        }
        // `force_destroy` and `external_dns_owners` are girder's own settings: recording them
        // is the whole update.
        Ok(TypedUpdateResponse::new(HostedZoneOutputs {
            name: inputs.name,
            ..old.outputs
        }))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<HostedZoneInputs, HostedZoneOutputs>,
        ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let route53 = clients.route53().await?;
        let id = old.id.as_str();
        let attempt = route53
            .delete_hosted_zone()
            .id(id)
            .send()
            .await
            .aws(&Call::deleting("DeleteHostedZone", &old.identity));
        let error = match attempt {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) if has_code(&e, "HostedZoneNotEmpty") => e,
            Err(e) => return Err(e),
        };
        let records = extra_records(route53, id, &old.inputs.name).await?;
        // What the program's external-dns wrote is the program's to remove; anything else
        // only with `force_destroy`.
        let (owned, records) =
            super::external_dns::split_owned(records, &old.inputs.external_dns_owners);
        if !owned.is_empty() {
            ctx.progress(&format!(
                "deleting {} record set(s) the program's external-dns wrote: {}",
                owned.len(),
                describe_records(&owned)
            ));
            tracing::info!(
                identity = %old.identity,
                records = owned.len(),
                owners = ?old.inputs.external_dns_owners,
                "deleting the records the program's external-dns wrote in the zone"
            );
        }
        if !records.is_empty() && !old.inputs.force_destroy {
            return Err(ProviderError {
                kind: ErrorKind::Conflict,
                message: format!(
                    "{}: the hosted zone `{}` ({id}) still holds {} record set(s) besides its NS and SOA: {}. \
                     They were made outside this resource and outside the program's external-dns \
                     (whose records girder removes when the zone names its owner id with \
                     `.external_dns_owner(..)`). Delete them (and stop whatever writes them), or \
                     set `.force_destroy()` on the zone and apply once, so that girder deletes \
                     them with the zone",
                    old.identity,
                    old.inputs.name,
                    records.len(),
                    describe_records(&records),
                ),
                ..error
            });
        }
        if !records.is_empty() {
            tracing::info!(identity = %old.identity, records = records.len(), "force_destroy: deleting the zone's records");
        }
        delete_records(route53, id, owned.into_iter().chain(records).collect()).await?;
        match route53
            .delete_hosted_zone()
            .id(id)
            .send()
            .await
            .aws(&Call::deleting("DeleteHostedZone", &old.identity))
        {
            Err(e) if is_not_found(&e) => Ok(()),
            // Something wrote a record meanwhile: the engine retries the whole delete.
            Err(e) if has_code(&e, "HostedZoneNotEmpty") => Err(ProviderError {
                kind: ErrorKind::Retryable,
                ..e
            }),
            other => other.map(|_| ()),
        }
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<HostedZoneInputs, HostedZoneOutputs>, ProviderError> {
        let identity = req.identity;
        let route53 = clients.route53().await?;
        let region = clients.region().await?;
        // Route 53 cannot filter zones by tag: list every zone (100 per call), then read
        // their tags (10 per call). A zone also counts as ours by its caller reference.
        let zones: Vec<aws_sdk_route53::types::HostedZone> = route53
            .list_hosted_zones()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws(&Call::new("ListHostedZones", "hosted zones"))?;
        let ids: Vec<String> = zones
            .iter()
            .map(|z| HostedZoneId::from_api(z.id()).to_string())
            .collect();
        let tag_sets = zone_tags(route53, &ids).await?;
        let prefix = caller_reference_prefix(&identity);
        // A zone made by a create still open in this process is that create's to adopt.
        let open = clients.attempts().open_token(&identity);
        let mut found = Vec::new();
        for (zone, id) in zones.iter().zip(&ids) {
            if open.as_deref().is_some_and(|t| {
                zone.caller_reference()
                    .ends_with(&t[t.len().saturating_sub(12)..])
            }) {
                continue;
            }
            let tags_found = tag_sets.get(id).map(Vec::as_slice).unwrap_or_default();
            let tagged = tags::names_identity(route53_pairs(tags_found), &identity);
            if !(tagged || zone.caller_reference().starts_with(&prefix)) {
                continue;
            }
            if let Some(described) = get_zone(route53, id).await? {
                found.push(TypedFound::new(
                    id.clone(),
                    observe(&described, tags_found, None, region),
                ));
            }
        }
        Ok(TypedFindResponse::new(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_serialize_compactly() {
        let inputs = HostedZoneInputs {
            name: "example.com".into(),
            comment: None,
            private_zone: false,
            vpcs: Vec::new(),
            force_destroy: false,
            external_dns_owners: Vec::new(),
            tags: Tags::new(),
        };
        assert_eq!(
            serde_json::to_value(&inputs).unwrap(),
            serde_json::json!({"name": "example.com"})
        );
        let back: HostedZoneInputs =
            serde_json::from_value(serde_json::json!({"name": "example.com"})).unwrap();
        assert_eq!(back, inputs);
    }
}
