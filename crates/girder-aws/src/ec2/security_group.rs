//! `aws:ec2/securityGroup` and `aws:ec2/securityGroupRule`.
//!
//! Groups are named from a prefix plus a generated suffix (names are unique per VPC, so a
//! replacement can be created before the old group goes). Rules are separate resources with
//! their own ids (`sgr-…`) and tags; the default allow-all egress rule AWS adds is left as is.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, ResourceType, SecurityGroup, SecurityGroupRule,
    SecurityGroupRuleDescription, UserIdGroupPair,
};
use girder_engine::typed::{
    TypedCreateRequest, TypedCreateResponse, TypedDeleteRequest, TypedFindRequest,
    TypedFindResponse, TypedFound, TypedObserved, TypedReadRequest, TypedReadResponse,
    TypedResource, TypedUpdateRequest, TypedUpdateResponse,
};
use girder_engine::{CallContext, ProviderError, ResourceSchema};
use serde::{Deserialize, Serialize};

use crate::clients::AwsClients;
use crate::error::{AwsResultExt, Call, has_code, is_not_found};
use crate::tags::{self, Tags};

/// The type token of security groups.
pub const SECURITY_GROUP: &str = "aws:ec2/securityGroup";
/// The type token of security group rules.
pub const SECURITY_GROUP_RULE: &str = "aws:ec2/securityGroupRule";

/// Inputs of `aws:ec2/securityGroup`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupInputs {
    /// The exact name (else generated from `name_prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The start of a generated name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// The description (cannot be changed: a change replaces the group).
    pub description: String,
    /// The VPC.
    pub vpc_id: String,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/securityGroup`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupOutputs {
    /// The ARN.
    pub arn: String,
    /// The name.
    pub name: String,
}

/// The `aws:ec2/securityGroup` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecurityGroupResource;

fn observe_group(
    region: &str,
    group: &SecurityGroup,
    recorded: Option<&SecurityGroupInputs>,
) -> TypedObserved<SecurityGroupInputs, SecurityGroupOutputs> {
    let name = group.group_name().unwrap_or_default().to_owned();
    // A generated name reads back as the prefix it was made from.
    let prefix = match recorded {
        Some(r) => r
            .name_prefix
            .clone()
            .filter(|p| name.starts_with(p.as_str())),
        // Found or imported without a record: a name that looks generated reads as its prefix.
        None => crate::util::generated_prefix(&name).map(str::to_owned),
    };
    TypedObserved::new(
        SecurityGroupInputs {
            name: prefix.is_none().then(|| name.clone()),
            name_prefix: prefix,
            description: group.description().unwrap_or_default().to_owned(),
            vpc_id: group.vpc_id().unwrap_or_default().to_owned(),
            tags: tags::user_tags(tags::ec2_pairs(group.tags())),
        },
        SecurityGroupOutputs {
            arn: group
                .security_group_arn()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    format!(
                        "arn:aws:ec2:{region}:{}:security-group/{}",
                        group.owner_id().unwrap_or_default(),
                        group.group_id().unwrap_or_default()
                    )
                }),
            name,
        },
    )
}

async fn describe_groups(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<SecurityGroup>, ProviderError> {
    ec2.describe_security_groups()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new("DescribeSecurityGroups", "security groups"))
}

#[async_trait]
impl TypedResource<AwsClients> for SecurityGroupResource {
    type Inputs = SecurityGroupInputs;
    type Outputs = SecurityGroupOutputs;

    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(SECURITY_GROUP).replace_on([
            "name",
            "name_prefix",
            "description",
            "vpc_id",
        ])
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<SecurityGroupInputs>,
        ctx: &CallContext,
    ) -> Result<TypedCreateResponse<SecurityGroupOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        // CreateSecurityGroup takes no idempotency token: the group carries the create's
        // token as a tag, and a generated name ends in the token's last characters, so a
        // retry after a lost response finds the same group rather than naming a second one.
        let attempt = clients.attempts().begin(&identity, &inputs);
        let token = attempt.token();
        let suffix = &token[token.len().saturating_sub(8)..];
        let name = match (&inputs.name, &inputs.name_prefix) {
            (Some(name), _) => name.clone(),
            (None, Some(prefix)) => format!("{prefix}{suffix}"),
            (None, None) => format!("{}-{suffix}", identity.name),
        };
        let ec2 = clients.ec2().await?;
        let lookup = || async {
            Ok(
                describe_groups(ec2, tags::ec2_token_filters(&identity, attempt.token()))
                    .await?
                    .into_iter()
                    .next(),
            )
        };
        let (id, returned_arn) = match attempt.find_earlier(ctx, "security group", lookup).await? {
            Some(group) => {
                clients.attempts().settled(&attempt);
                (group.group_id().unwrap_or_default().to_owned(), None)
            }
            None => {
                let created = ec2
                    .create_security_group()
                    .group_name(&name)
                    .description(&inputs.description)
                    .vpc_id(&inputs.vpc_id)
                    .tag_specifications(tags::ec2_tag_spec_with_token(
                        ResourceType::SecurityGroup,
                        &identity,
                        &inputs.tags,
                        attempt.token(),
                    ))
                    .send()
                    .await
                    .aws(&Call::new("CreateSecurityGroup", &identity));
                let created = match created {
                    // The name is taken: by the group a lost response made, if it carries
                    // this create's token.
                    Err(e) if has_code(&e, "InvalidGroup.Duplicate") => {
                        match attempt.find_earlier(ctx, "security group", lookup).await? {
                            Some(group) => {
                                Ok((group.group_id().unwrap_or_default().to_owned(), None))
                            }
                            None => Err(e),
                        }
                    }
                    other => other.map(|created| {
                        (
                            created.group_id().unwrap_or_default().to_owned(),
                            created.security_group_arn().map(str::to_owned),
                        )
                    }),
                };
                clients.attempts().sent(&attempt, created)?
            }
        };
        let arn = match returned_arn {
            Some(arn) => arn.to_owned(),
            // Older endpoints do not return the ARN; it needs the owner account.
            None => {
                let region = clients.region().await?;
                describe_groups(ec2, vec![tags::ec2_filter("group-id", [id.as_str()])])
                    .await?
                    .first()
                    .map(|g| observe_group(region, g, None).outputs.arn)
                    .unwrap_or_default()
            }
        };
        Ok(TypedCreateResponse::new(
            id,
            SecurityGroupOutputs { arn, name },
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<SecurityGroupInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<SecurityGroupInputs, SecurityGroupOutputs>, ProviderError> {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let region = clients.region().await?;
        let found = super::describe_by_ids(
            &items,
            "group-id",
            |f| describe_groups(ec2, f),
            SecurityGroup::group_id,
        )
        .await?;
        Ok(items
            .iter()
            .map(|i| {
                found
                    .get(&i.id)
                    .map(|g| observe_group(region, g, i.inputs.as_ref()))
            })
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<SecurityGroupInputs, SecurityGroupOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<SecurityGroupOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        tags::ec2_update_tags(ec2, &old.id, &old.identity, &old.inputs.tags, &inputs.tags).await?;
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<SecurityGroupInputs, SecurityGroupOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        // Network interfaces that EKS or load balancers put in the group are released
        // asynchronously after their owners are deleted: DependencyViolation is retried.
        match clients
            .ec2()
            .await?
            .delete_security_group()
            .group_id(&old.id)
            .send()
            .await
            .aws(&Call::deleting("DeleteSecurityGroup", &old.id))
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<SecurityGroupInputs, SecurityGroupOutputs>, ProviderError> {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        let region = clients.region().await?;
        Ok(describe_groups(ec2, tags::ec2_identity_filters(&identity))
            .await?
            .iter()
            .filter(|g| !clients.attempts().made_by_open_create(&identity, g.tags()))
            .map(|g| {
                TypedFound::new(
                    g.group_id().unwrap_or_default().to_owned(),
                    observe_group(region, g, None),
                )
            })
            .collect())
    }
}

/// Inputs of `aws:ec2/securityGroupRule`: one protocol and port range from one source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupRuleInputs {
    /// The group the rule belongs to.
    pub security_group_id: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub protocol: String,
    /// The first port (or ICMP type; `-1` for all).
    pub from_port: i32,
    /// The last port (or ICMP code; `-1` for all).
    pub to_port: i32,
    /// An IPv4 range as the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_ipv4: Option<String>,
    /// A security group as the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_security_group_id: Option<String>,
    /// What the rule is for (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

/// Outputs of `aws:ec2/securityGroupRule`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupRuleOutputs {}

/// The `aws:ec2/securityGroupRule` resource type.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecurityGroupRuleResource;

fn observe_rule(
    rule: &SecurityGroupRule,
) -> TypedObserved<SecurityGroupRuleInputs, SecurityGroupRuleOutputs> {
    TypedObserved::new(
        SecurityGroupRuleInputs {
            security_group_id: rule.group_id().unwrap_or_default().to_owned(),
            direction: if rule.is_egress() == Some(true) {
                "egress"
            } else {
                "ingress"
            }
            .to_owned(),
            protocol: rule.ip_protocol().unwrap_or("-1").to_owned(),
            from_port: rule.from_port().unwrap_or(-1),
            to_port: rule.to_port().unwrap_or(-1),
            cidr_ipv4: rule.cidr_ipv4().map(str::to_owned),
            referenced_security_group_id: rule
                .referenced_group_info()
                .and_then(|r| r.group_id())
                .map(str::to_owned),
            description: rule
                .description()
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            tags: tags::user_tags(tags::ec2_pairs(rule.tags())),
        },
        SecurityGroupRuleOutputs {},
    )
}

async fn describe_rules(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    ec2.describe_security_group_rules()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws(&Call::new(
            "DescribeSecurityGroupRules",
            "security group rules",
        ))
}

fn permission(inputs: &SecurityGroupRuleInputs) -> IpPermission {
    let mut permission = IpPermission::builder()
        .ip_protocol(&inputs.protocol)
        .from_port(inputs.from_port)
        .to_port(inputs.to_port);
    if let Some(cidr) = &inputs.cidr_ipv4 {
        permission = permission.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(inputs.description.clone())
                .build(),
        );
    }
    if let Some(group) = &inputs.referenced_security_group_id {
        permission = permission.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(inputs.description.clone())
                .build(),
        );
    }
    permission.build()
}

#[async_trait]
impl TypedResource<AwsClients> for SecurityGroupRuleResource {
    type Inputs = SecurityGroupRuleInputs;
    type Outputs = SecurityGroupRuleOutputs;

    fn schema(&self) -> ResourceSchema {
        // A replacement would duplicate the permission, which EC2 refuses: delete first.
        ResourceSchema::new(SECURITY_GROUP_RULE)
            .replace_on([
                "security_group_id",
                "direction",
                "protocol",
                "from_port",
                "to_port",
                "cidr_ipv4",
                "referenced_security_group_id",
            ])
            .delete_before_replace()
    }

    async fn create(
        &self,
        clients: &AwsClients,
        req: TypedCreateRequest<SecurityGroupRuleInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedCreateResponse<SecurityGroupRuleOutputs>, ProviderError> {
        let TypedCreateRequest {
            identity, inputs, ..
        } = req;
        let ec2 = clients.ec2().await?;
        let spec = tags::ec2_tag_spec(ResourceType::SecurityGroupRule, &identity, &inputs.tags);
        let call = Call::new(
            if inputs.direction == "egress" {
                "AuthorizeSecurityGroupEgress"
            } else {
                "AuthorizeSecurityGroupIngress"
            },
            &identity,
        );
        let rules = if inputs.direction == "egress" {
            ec2.authorize_security_group_egress()
                .group_id(&inputs.security_group_id)
                .ip_permissions(permission(&inputs))
                .tag_specifications(spec)
                .send()
                .await
                .aws(&call)?
                .security_group_rules()
                .to_vec()
        } else {
            ec2.authorize_security_group_ingress()
                .group_id(&inputs.security_group_id)
                .ip_permissions(permission(&inputs))
                .tag_specifications(spec)
                .send()
                .await
                .aws(&call)?
                .security_group_rules()
                .to_vec()
        };
        let id = rules
            .first()
            .and_then(|r| r.security_group_rule_id())
            .ok_or_else(|| {
                ProviderError::permanent(format!(
                    "{} of {identity} returned no rule id",
                    call.operation
                ))
            })?;
        Ok(TypedCreateResponse::new(
            id.to_owned(),
            SecurityGroupRuleOutputs {},
        ))
    }

    async fn read(
        &self,
        clients: &AwsClients,
        req: TypedReadRequest<SecurityGroupRuleInputs>,
        _ctx: &CallContext,
    ) -> Result<TypedReadResponse<SecurityGroupRuleInputs, SecurityGroupRuleOutputs>, ProviderError>
    {
        let items = req.items;
        let ec2 = clients.ec2().await?;
        let found = super::describe_by_ids(
            &items,
            "security-group-rule-id",
            |f| describe_rules(ec2, f),
            SecurityGroupRule::security_group_rule_id,
        )
        .await?;
        Ok(items
            .iter()
            .map(|i| found.get(&i.id).map(observe_rule))
            .collect())
    }

    async fn update(
        &self,
        clients: &AwsClients,
        req: TypedUpdateRequest<SecurityGroupRuleInputs, SecurityGroupRuleOutputs>,
        _ctx: &CallContext,
    ) -> Result<TypedUpdateResponse<SecurityGroupRuleOutputs>, ProviderError> {
        let TypedUpdateRequest { old, inputs, .. } = req;
        let ec2 = clients.ec2().await?;
        if old.inputs.description != inputs.description {
            let description = SecurityGroupRuleDescription::builder()
                .security_group_rule_id(&old.id)
                .description(inputs.description.clone().unwrap_or_default())
                .build();
            let call = Call::new("UpdateSecurityGroupRuleDescriptions", &old.identity);
            if inputs.direction == "egress" {
                ec2.update_security_group_rule_descriptions_egress()
                    .group_id(&inputs.security_group_id)
                    .security_group_rule_descriptions(description)
                    .send()
                    .await
                    .aws(&call)?;
            } else {
                ec2.update_security_group_rule_descriptions_ingress()
                    .group_id(&inputs.security_group_id)
                    .security_group_rule_descriptions(description)
                    .send()
                    .await
                    .aws(&call)?;
            }
        }
        if old.inputs.tags != inputs.tags {
            tags::ec2_update_tags(ec2, &old.id, &old.identity, &old.inputs.tags, &inputs.tags)
                .await?;
        }
        Ok(TypedUpdateResponse::new(old.outputs))
    }

    async fn delete(
        &self,
        clients: &AwsClients,
        req: TypedDeleteRequest<SecurityGroupRuleInputs, SecurityGroupRuleOutputs>,
        _ctx: &CallContext,
    ) -> Result<(), ProviderError> {
        let old = req.old;
        let ec2 = clients.ec2().await?;
        let call = Call::deleting("RevokeSecurityGroupRule", &old.id);
        let result = if old.inputs.direction == "egress" {
            ec2.revoke_security_group_egress()
                .group_id(&old.inputs.security_group_id)
                .security_group_rule_ids(&old.id)
                .send()
                .await
                .aws(&call)
                .map(|_| ())
        } else {
            ec2.revoke_security_group_ingress()
                .group_id(&old.inputs.security_group_id)
                .security_group_rule_ids(&old.id)
                .send()
                .await
                .aws(&call)
                .map(|_| ())
        };
        match result {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn find(
        &self,
        clients: &AwsClients,
        req: TypedFindRequest,
        _ctx: &CallContext,
    ) -> Result<TypedFindResponse<SecurityGroupRuleInputs, SecurityGroupRuleOutputs>, ProviderError>
    {
        let identity = req.identity;
        let ec2 = clients.ec2().await?;
        Ok(describe_rules(ec2, tags::ec2_identity_filters(&identity))
            .await?
            .iter()
            .map(|r| {
                TypedFound::new(
                    r.security_group_rule_id().unwrap_or_default().to_owned(),
                    observe_rule(r),
                )
            })
            .collect())
    }
}
