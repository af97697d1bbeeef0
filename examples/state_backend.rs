//! The seed's remote-state bootstrap: an S3 bucket for team state — versioned (every earlier
//! state stays recoverable), encrypted, with all four public access settings blocked — and a
//! DynamoDB table with the string hash key `LockID` for locking. It is the same program as
//! `girder::aws::seed::state_backend`, which the tests apply against the AWS emulator.
//!
//! ```text
//! cargo run --example state_backend -- plan            # no AWS call
//! cargo run --example state_backend -- apply --yes     # AWS_PROFILE / AWS_REGION
//! ```
//!
//! The bucket's name is generated (bucket names are global across all AWS accounts); the
//! outputs name both, and `state_url` is the whole `--state` location:
//!
//! ```text
//! BUCKET=$(cargo run -q --example state_backend -- output bucket)
//! TABLE=$(cargo run -q --example state_backend -- output table)
//! export GIRDER_PASSPHRASE=…    # remote state encrypts secrets with it
//! cargo run --example yolo -- --stack prod --state "s3://$BUCKET/girder?lock=dynamodb:$TABLE" apply
//! ```
//!
//! This program's own state starts in `.girder` (the bucket cannot hold the state of its own
//! creation); once the bucket exists, move it in:
//!
//! ```text
//! cargo run --example state_backend -- state migrate --to "s3://$BUCKET/bootstrap?lock=dynamodb:$TABLE"
//! ```
//!
//! Destroying the bootstrap refuses a bucket that still holds state: add `.force_destroy()`
//! to the bucket and apply first if that is really meant.

use girder::prelude::*;

fn main() -> girder::Exit {
    girder::run(|s: &mut Stack| {
        let bucket = Bucket::new("girder-state")
            .versioning(true)
            .encryption(Encryption::S3Managed) // or Encryption::kms_key("alias/girder-state")
            .public_access_block(PublicAccessBlock::all())
            .tag("purpose", "girder state")
            .tag("owner", "platform")
            .add(s);
        let table = Table::new("girder-locks")
            .hash_key("LockID", AttributeType::String) // Terraform's convention, girder's too
            .tag("purpose", "girder state locks")
            .tag("owner", "platform")
            .add(s);

        s.export("bucket", bucket.name());
        s.export("table", table.name());
        s.export(
            "state_url",
            interpolate!(
                "s3://{}/girder?lock=dynamodb:{}",
                bucket.name(),
                table.name()
            ),
        );
        Ok(())
    })
}
