;; expect: misspelled-builtin
(defun c:RED (/ e ed)
  (setq e (car (entsel)) ed (entget e))
  (entmode (subst '(62 . 1) (assoc 62 ed) ed))
  (princ)
)
