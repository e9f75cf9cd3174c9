//! The hasher's admission: what runs, what waits, what is shed.

use std::sync::Arc;

use super::phc::OWASP_PREFIX;
use super::*;

#[tokio::test]
async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
    let hasher = PasswordHasher::new(1).unwrap();
    let hash = hasher
        .hash(Password::presented("hunter22hunter".into()))
        .await
        .unwrap();
    assert!(hash.starts_with(OWASP_PREFIX), "{hash}");
    assert!(hasher
        .verify(
            Password::presented("hunter22hunter".into()),
            Some(hash.clone())
        )
        .await
        .unwrap());
    assert!(!hasher
        .verify(Password::presented("hunter22hunteR".into()), Some(hash))
        .await
        .unwrap());
}

#[tokio::test]
async fn unknown_user_never_verifies_even_with_the_dummy_password() {
    let hasher = PasswordHasher::new(1).unwrap();
    let ok = hasher
        .verify(Password::presented("trident-dummy-password".into()), None)
        .await
        .unwrap();
    assert!(!ok);
}

#[tokio::test]
async fn excess_load_is_shed_instead_of_queued_without_limit() {
    let hasher = Arc::new(PasswordHasher::new(1).unwrap());
    let attempts: Vec<_> = (0..(QUEUE_FACTOR * 3))
        .map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .verify(Password::presented("x".repeat(12)), None)
                    .await
            })
        })
        .collect();
    let mut shed = 0;
    for attempt in attempts {
        if matches!(attempt.await.unwrap(), Err(HashError::Overloaded)) {
            shed += 1;
        }
    }
    assert!(
        shed > 0,
        "some attempts beyond the queue bound must be shed"
    );
}

#[tokio::test]
async fn try_reserve_sheds_once_the_queue_is_full_and_admits_again_when_a_place_frees() {
    let hasher = PasswordHasher::new(2).unwrap();
    let mut places: Vec<_> = (0..2 * QUEUE_FACTOR)
        .map(|i| {
            hasher
                .try_reserve()
                .unwrap_or_else(|e| panic!("place {i} of {}: {e}", 2 * QUEUE_FACTOR))
        })
        .collect();
    assert!(matches!(hasher.try_reserve(), Err(HashError::Overloaded)));
    assert!(
        matches!(
            hasher
                .verify(Password::presented("x".repeat(12)), None)
                .await,
            Err(HashError::Overloaded)
        ),
        "verify reserves its own place and must be shed too"
    );
    drop(places.pop());
    assert!(hasher.try_reserve().is_ok());
}

// Virtual time (tokio's paused clock): the pause is checked, not the machine's speed.
#[tokio::test(start_paused = true)]
async fn a_shed_login_is_held_briefly_and_only_while_few_are() {
    let hasher = PasswordHasher::new(1).unwrap();
    let places: Vec<_> = (0..QUEUE_FACTOR)
        .map(|_| hasher.try_reserve().unwrap())
        .collect();

    let started = tokio::time::Instant::now();
    assert!(matches!(
        hasher.reserve_or_pause().await,
        Err(HashError::Overloaded)
    ));
    let held = started.elapsed();
    assert!(
        held >= SHED_PAUSE && held < 2 * SHED_PAUSE,
        "a shed request is held for the pause: {held:?}"
    );

    let all_paused = hasher.paused.try_acquire_many(MAX_PAUSED as u32).unwrap();
    let started = tokio::time::Instant::now();
    assert!(matches!(
        hasher.reserve_or_pause().await,
        Err(HashError::Overloaded)
    ));
    assert_eq!(
        started.elapsed(),
        std::time::Duration::ZERO,
        "with the pause full, the refusal comes at once"
    );

    drop((all_paused, places));
    let started = tokio::time::Instant::now();
    assert!(hasher.reserve_or_pause().await.is_ok());
    assert_eq!(
        started.elapsed(),
        std::time::Duration::ZERO,
        "an admitted request is never held"
    );
}

#[tokio::test]
async fn a_reserved_place_is_spent_by_the_verification_without_taking_another() {
    let hasher = PasswordHasher::new(1).unwrap();
    let hash = hasher
        .hash(Password::presented("hunter22hunter".into()))
        .await
        .unwrap();
    let mut places: Vec<_> = (0..QUEUE_FACTOR)
        .map(|_| hasher.try_reserve().unwrap())
        .collect();
    let place = places.pop().unwrap();
    let ok = hasher
        .verify_reserved(
            place,
            Password::presented("hunter22hunter".into()),
            Some(hash),
        )
        .await
        .unwrap();
    assert!(ok);
    assert!(
        hasher.try_reserve().is_ok(),
        "the spent place is given back once the verification ends"
    );
}

#[tokio::test]
async fn a_place_from_another_hasher_is_refused() {
    let (hasher, other) = (
        PasswordHasher::new(1).unwrap(),
        PasswordHasher::new(1).unwrap(),
    );
    let foreign = other.try_reserve().unwrap();
    let outcome = hasher
        .verify_reserved(foreign, Password::presented("x".repeat(12)), None)
        .await;
    assert!(matches!(outcome, Err(HashError::Unexpected(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_memory_never_exceeds_one_array_per_permit_even_when_callers_hang_up() {
    let permits = 2;
    let hasher = Arc::new(PasswordHasher::new(permits).unwrap());
    let hash = hasher
        .hash(Password::presented("hunter22hunter".into()))
        .await
        .unwrap();
    let verify_all = |count: usize| -> Vec<_> {
        (0..count)
            .map(|_| {
                let (hasher, hash) = (hasher.clone(), hash.clone());
                tokio::spawn(async move {
                    hasher
                        .verify(Password::presented("hunter22hunter".into()), Some(hash))
                        .await
                })
            })
            .collect()
    };
    // Callers that hang up (actix drops the future of a closed connection)
    // once their hashes run: the next callers must wait for those hashes, not
    // start beside them.
    let abandoned = verify_all(permits * QUEUE_FACTOR);
    // Until both permits are taken (bounded: on a starved machine the hashes
    // may all end before this task looks; what follows holds either way).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while hasher.running.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    for caller in &abandoned {
        caller.abort();
    }
    for caller in abandoned {
        // Cancelled (or finished, had its hash already ended): the future is gone.
        let _ = caller.await;
    }
    // The hashes of the hung-up callers may still hold their places.
    let free_places = permits * (QUEUE_FACTOR - 1);
    for (i, attempt) in verify_all(free_places).into_iter().enumerate() {
        assert!(
            attempt.await.unwrap().unwrap(),
            "verification {i} after the hang-ups"
        );
    }
    // Every place free again: no hash is still running, every lease ended.
    let _all = hasher
        .queued
        .acquire_many((permits * QUEUE_FACTOR) as u32)
        .await
        .unwrap();
    let (created, free) = hasher.memory.counts();
    assert!(
        (1..=permits).contains(&created),
        "{created} block arrays for {permits} permits"
    );
    assert_eq!(free, created, "every array is back in the pool");
}
